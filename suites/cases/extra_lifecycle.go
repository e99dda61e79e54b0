package cases

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// newPod is a pod created during a case, serving TCP 80 under its default
// name. Its IP comes from the cluster (State picks a stand-in offline).
func newPod(ns, name string, kv ...string) model.Pod {
	return model.Pod{
		Namespace: ns, Name: name, Labels: labelsSel(kv...).MatchLabels, Node: "node-1",
		Ports: []model.ContainerPort{containerPort(model.DefaultPortName(tcp80), 80, corev1.ProtocolTCP)},
	}
}

// extraLifecycle covers changes over time: deletion, relabelling of pods and
// namespaces, pods created and deleted under policies in force.
func extraLifecycle() []scenario {
	t80 := probes(tcp80)
	return []scenario{
		with(extraCase("deleting one of two policies removes only what it allowed",
			model.ClauseAdd, model.ClauseIso),
			pods(t80, "x/a", "y/a", "z/a"),
			[]Step{
				{Name: "x/a admits namespace y (one policy) and namespace z (another)", Actions: create(
					newPolicy("x", "from-y", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(nsNameSel("y")))).build(),
					newPolicy("x", "from-z", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(nsNameSel("z")))).build()), Probes: t80},
				{Name: "delete the policy for z", Actions: one(deletePolicy("x", "from-z")), Probes: t80},
			},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   .   .
y/a     .   .   .
z/a     .   .   .`},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   .   .
y/a     .   .   .
z/a     X   .   .`}),

		with(extraCase("deleting policies one by one narrows then lifts isolation",
			model.ClauseAdd, model.ClauseIso),
			pods(t80, "x/a", "y/a", "z/a"),
			[]Step{
				{Name: "deny ingress to x/a, admit namespace y", Actions: create(
					denyIngress("x", "deny-a", podSel("a")),
					newPolicy("x", "from-y", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(nsNameSel("y")))).build()), Probes: t80},
				{Name: "delete the allow policy", Actions: one(deletePolicy("x", "from-y")), Probes: t80},
				{Name: "delete the deny policy", Actions: one(deletePolicy("x", "deny-a")), Probes: t80},
			},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   .   .
y/a     .   .   .
z/a     X   .   .`},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   .   .
y/a     X   .   .
z/a     X   .   .`},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   .   .
y/a     .   .   .
z/a     .   .   .`}),

		with(extraCase("namespace relabel grants then revokes ingress",
			model.ClausePeerNS, model.ClauseSelector),
			pods(t80, "x/a", "y/a", "z/a"),
			[]Step{
				{Name: "x/a admits namespaces labelled team=blue", Actions: create(
					newPolicy("x", "from-blue", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(labelsSel("team", "blue")))).build()), Probes: t80},
				{Name: "namespace y becomes team=blue", Actions: one(setNamespaceLabels("y", "ns", "y", "team", "blue")), Probes: t80},
				{Name: "namespace y becomes team=red", Actions: one(setNamespaceLabels("y", "ns", "y", "team", "red")), Probes: t80},
			},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   .   .
y/a     X   .   .
z/a     X   .   .`},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   .   .
y/a     .   .   .
z/a     X   .   .`},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   .   .
y/a     X   .   .
z/a     X   .   .`}),

		with(extraCase("namespace relabel opens an egress namespaceSelector",
			model.ClausePeerNS, model.ClauseSelector),
			pods(t80, "x/a", "y/a", "z/a"),
			[]Step{
				{Name: "x/a may send to namespaces labelled team=blue", Actions: create(
					newPolicy("x", "to-blue", podSel("a")).types(egressOnly...).egress(peers(nsPeer(labelsSel("team", "blue")))).build()), Probes: t80},
				{Name: "namespace z becomes team=blue", Actions: one(setNamespaceLabels("z", "ns", "z", "team", "blue")), Probes: t80},
			},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   X   X
y/a     .   .   .
z/a     .   .   .`},
			[]string{`
80/TCP x/a y/a z/a
x/a     .   X   .
y/a     .   .   .
z/a     .   .   .`}),

		with(extraCase("pod relabel takes a pod out of a policy's target",
			model.ClauseIso, model.ClauseSelector),
			pods(t80, "x/a", "y/a"),
			[]Step{
				{Name: "deny ingress to pod=a", Actions: create(denyIngress("x", "deny-a", podSel("a"))), Probes: t80},
				{Name: "x/a is relabelled pod=moved", Actions: one(setPodLabels("x", "a", "pod", "moved")), Probes: t80},
			},
			[]string{twoPodGrid(tcp80, false, true)},
			[]string{twoPodGrid(tcp80, true, true)}),

		with(extraCase("pod relabel brings a pod into an egress peer set",
			model.ClausePeerPod, model.ClauseSelector),
			pods(t80, "x/a", "x/b", "x/c"),
			[]Step{
				{Name: "x/a may send to role=db", Actions: create(
					newPolicy("x", "to-db", podSel("a")).types(egressOnly...).egress(peers(podPeer(labelsSel("role", "db")))).build()), Probes: t80},
				{Name: "x/c gets role=db", Actions: one(setPodLabels("x", "c", "pod", "c", "role", "db")), Probes: t80},
			},
			[]string{`
80/TCP x/a x/b x/c
x/a     .   X   X
x/b     .   .   .
x/c     .   .   .`},
			[]string{`
80/TCP x/a x/b x/c
x/a     .   X   .
x/b     .   .   .
x/c     .   .   .`}),

		with(extraCase("pod created after a namespace deny policy is isolated",
			model.ClauseIso, model.ClauseSelector),
			pods(t80, "x/a", "y/a"),
			[]Step{
				{Name: "deny ingress in x", Actions: create(denyIngress("x", "deny-ingress", all())), Probes: t80},
				{Name: "create x/d", Actions: one(createPod(newPod("x", "d", "pod", "d"))), Probes: t80},
			},
			[]string{twoPodGrid(tcp80, false, true)},
			[]string{`
80/TCP x/a x/d y/a
x/a     .   X   .
x/d     X   .   .
y/a     X   X   .`}),

		with(extraCase("pod created after a policy matches its peer selector",
			model.ClausePeerAnd, model.ClauseSelector),
			pods(t80, "x/a", "y/a"),
			[]Step{
				{Name: "x/a admits pod=new in namespace y", Actions: create(
					newPolicy("x", "from-new", podSel("a")).types(ingressOnly...).ingress(peers(andPeer(nsNameSel("y"), podSel("new")))).build()), Probes: t80},
				{Name: "create y/new", Actions: one(createPod(newPod("y", "new", "pod", "new"))), Probes: t80},
			},
			[]string{twoPodGrid(tcp80, false, true)},
			[]string{`
80/TCP x/a y/a y/new
x/a     .   .   .
y/a     X   .   .
y/new   .   .   .`}),

		with(extraCase("deleted pod leaves the table and a new pod of that name gets its own labels",
			model.ClausePeerPod, model.ClauseSelector),
			pods(t80, "x/a", "x/b", "y/a"),
			[]Step{
				{Name: "x/a admits pod=b", Actions: create(
					newPolicy("x", "from-b", podSel("a")).types(ingressOnly...).ingress(peers(podPeer(podSel("b")))).build()), Probes: t80},
				{Name: "delete x/b", Actions: one(deletePod("x", "b")), Probes: t80},
				{Name: "create x/b again labelled pod=other", Actions: one(createPod(newPod("x", "b", "pod", "other"))), Probes: t80},
			},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     X   .   .`},
			[]string{twoPodGrid(tcp80, false, true)},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     X   .   .
y/a     X   .   .`}),

		with(extraCase("updating a policy's podSelector moves isolation to other pods",
			model.ClauseIso, model.ClauseSelector),
			pods(t80, "x/a", "x/b", "y/a"),
			[]Step{
				{Name: "deny ingress to pod=a", Actions: create(denyIngress("x", "deny-one", podSel("a"))), Probes: t80},
				{Name: "the policy now selects pod=b", Actions: one(update(denyIngress("x", "deny-one", podSel("b")))), Probes: t80},
			},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     X   .   .
y/a     X   .   .`},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   X   .
x/b     .   .   .
y/a     .   X   .`}),
	}
}
