package cases

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// extraSelectors covers selector forms and cross-namespace flows upstream
// touches only in passing.
func extraSelectors() []scenario {
	t80 := probes(tcp80)
	return []scenario{
		with(extraCase("egress of the source and ingress of the destination across namespaces both decide",
			model.ClauseBoth, model.ClausePeerNS),
			pods(t80, "x/a", "y/a", "y/b", "z/a"),
			[]Step{{Name: "x/a may send to namespace y; y/b admits namespace z only", Actions: create(
				newPolicy("x", "to-y", podSel("a")).types(egressOnly...).egress(peers(nsPeer(nsNameSel("y")))).build(),
				newPolicy("y", "from-z", podSel("b")).types(ingressOnly...).ingress(peers(nsPeer(nsNameSel("z")))).build()), Probes: t80}},
			[]string{`
80/TCP x/a y/a y/b z/a
x/a     .   .   X   X
y/a     .   .   X   .
y/b     .   .   .   .
z/a     .   .   .   .`}),

		with(extraCase("a cross-namespace flow needs the egress rule and the ingress rule",
			model.ClauseBoth, model.ClausePeerAnd),
			pods(t80, "x/a", "y/a", "y/b"),
			[]Step{{Name: "x/a may send to y/b; y/b admits x/a", Actions: create(
				newPolicy("x", "to-yb", podSel("a")).types(egressOnly...).egress(peers(andPeer(nsNameSel("y"), podSel("b")))).build(),
				newPolicy("y", "from-xa", podSel("b")).types(ingressOnly...).ingress(peers(andPeer(nsNameSel("x"), podSel("a")))).build()), Probes: t80}},
			[]string{`
80/TCP x/a y/a y/b
x/a     .   X   .
y/a     .   .   X
y/b     .   .   .`}),

		with(extraCase("podSelector with Exists admits pods that carry the key",
			model.ClauseSelector, model.ClausePeerPod),
			pods(t80, "x/a", "x/b", "x/c"),
			[]Step{{Name: "x/b gets tier=web; x/a admits pods with a tier label", Actions: []Action{
				setPodLabels("x", "b", "pod", "b", "tier", "web"),
				CreatePolicy{Policy: newPolicy("x", "from-tier", podSel("a")).types(ingressOnly...).ingress(peers(podPeer(exprSel("tier", metav1.LabelSelectorOpExists)))).build()},
			}, Probes: t80}},
			[]string{`
80/TCP x/a x/b x/c
x/a     .   .   .
x/b     .   .   .
x/c     X   .   .`}),

		with(extraCase("target podSelector with DoesNotExist isolates the pods without the key",
			model.ClauseSelector, model.ClauseIso),
			pods(t80, "x/a", "x/b", "x/c"),
			[]Step{{Name: "x/b gets tier=web; deny ingress to pods without tier", Actions: []Action{
				setPodLabels("x", "b", "pod", "b", "tier", "web"),
				CreatePolicy{Policy: denyIngress("x", "deny-untiered", exprSel("tier", metav1.LabelSelectorOpDoesNotExist))},
			}, Probes: t80}},
			[]string{`
80/TCP x/a x/b x/c
x/a     .   .   X
x/b     X   .   X
x/c     X   .   .`}),

		with(extraCase("namespaceSelector on a namespace's own label",
			model.ClausePeerNS, model.ClauseSelector),
			pods(t80, "x/a", "x/b", "y/a", "z/a"),
			[]Step{{Name: "x/a admits namespaces labelled ns=y", Actions: create(
				newPolicy("x", "from-ns-label", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(labelsSel("ns", "y")))).build()), Probes: t80}},
			[]string{`
80/TCP x/a x/b y/a z/a
x/a     .   .   .   .
x/b     X   .   .   .
y/a     .   .   .   .
z/a     X   .   .   .`}),

		with(extraCase("egress podSelector peer stays in the policy's namespace",
			model.ClausePeerPod),
			pods(t80, "x/a", "x/b", "y/b"),
			[]Step{{Name: "x/a may send to pod=b", Actions: create(
				newPolicy("x", "to-b", podSel("a")).types(egressOnly...).egress(peers(podPeer(podSel("b")))).build()), Probes: t80}},
			[]string{`
80/TCP x/a x/b y/b
x/a     .   .   X
x/b     .   .   .
y/b     .   .   .`}),

		with(extraCase("podSelector NotIn admits the other pods of the policy's namespace only",
			model.ClausePeerPod, model.ClauseSelector),
			pods(t80, "x/a", "x/b", "x/c", "y/a"),
			[]Step{{Name: "x/a admits pods NotIn [c]", Actions: create(
				newPolicy("x", "not-c", podSel("a")).types(ingressOnly...).ingress(peers(podPeer(exprSel("pod", metav1.LabelSelectorOpNotIn, "c")))).build()), Probes: t80}},
			[]string{`
80/TCP x/a x/b x/c y/a
x/a     .   .   .   .
x/b     .   .   .   .
x/c     X   .   .   .
y/a     X   .   .   .`}),

		with(extraCase("two rules of one policy each bring their own peers and ports",
			model.ClauseRule, model.ClauseAdd, model.ClausePort),
			pods(probes(tcp80, tcp81), "x/a", "x/b", "y/a"),
			[]Step{{Name: "x/a admits pod=b on 80 and namespace y on 81", Actions: create(
				newPolicy("x", "two-rules", podSel("a")).types(ingressOnly...).ingress(
					peers(podPeer(podSel("b"))).on(tcpPort(80)),
					peers(nsPeer(nsNameSel("y"))).on(tcpPort(81))).build()), Probes: probes(tcp80, tcp81)}},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     X   .   .`, `
81/TCP x/a x/b y/a
x/a     .   .   .
x/b     X   .   .
y/a     .   .   .`}),

		with(extraCase("a policy isolates only pods of its own namespace",
			model.ClauseIso),
			pods(t80, "x/a", "y/a"),
			[]Step{{Name: "deny ingress in y", Actions: create(denyIngress("y", "deny-ingress", all())), Probes: t80}},
			[]string{twoPodGrid(tcp80, true, false)}),

		with(extraCase("empty namespaceSelector with a podSelector reaches that pod name everywhere",
			model.ClausePeerAnd, model.ClausePeerNS),
			pods(t80, "x/a", "x/b", "y/a", "y/b"),
			[]Step{{Name: "x/a may send to pod=b in every namespace", Actions: create(
				newPolicy("x", "to-any-b", podSel("a")).types(egressOnly...).egress(peers(andPeer(all(), podSel("b")))).build()), Probes: t80}},
			[]string{`
80/TCP x/a x/b y/a y/b
x/a     .   .   X   .
x/b     .   .   .   .
y/a     .   .   .   .
y/b     .   .   .   .`}),
	}
}
