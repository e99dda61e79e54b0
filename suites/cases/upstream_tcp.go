package cases

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// The 48 data-plane scenarios of the upstream e2e suite
// (k8s.io/kubernetes test/e2e/network/netpol/network_policy.go), rewritten
// as data. Each uses the pods and the ports upstream uses. The grids are
// written by hand from the API text: rows are sources, columns destinations,
// "." allowed, "X" denied. Unlike upstream, the diagonal counts: a pod
// reaching itself is always allowed (NP-SELF).

const (
	upstreamTCPContext  = "NetworkPolicy between server and client"
	upstreamUDPContext  = "NetworkPolicy between server and client using UDP"
	upstreamSCTPContext = "NetworkPolicy between server and client using SCTP"
)

// upstreamCase fills the fields every upstream scenario shares. "upstream"
// is its one hand-listed label: the others are derived (features.go).
func upstreamCase(context, it string, proto string, ids []model.ClauseID) Case {
	name := "upstream " + proto + ": " + it
	return Case{
		Name:     name,
		Upstream: context + " " + it,
		Features: []string{"upstream"},
		Clauses:  ids,
	}
}

func tcpCase(it string, ids ...model.ClauseID) Case {
	return upstreamCase(upstreamTCPContext, it, "tcp", ids)
}

func upstreamTCP() []scenario {
	var out []scenario
	add := func(c Case, topo *model.Topology, steps []Step, want ...[]string) {
		c.Topology = topo
		c.Steps = steps
		out = append(out, scenario{Case: c, want: want})
	}
	t80 := probes(tcp80)
	t81 := probes(tcp81)
	t8081 := probes(tcp80, tcp81)
	serve80 := []model.PortProtocol{tcp80}
	serve81 := []model.PortProtocol{tcp81}
	serve8081 := []model.PortProtocol{tcp80, tcp81}

	// --- default deny, allow all, precedence ---

	add(tcpCase("should support a 'default-deny-ingress' policy",
		model.ClauseIso, model.ClauseRule, model.ClauseSelf),
		pods(serve80, "x/a", "x/b", "y/a", "y/b"),
		[]Step{{Name: "deny all ingress in x", Actions: create(denyIngress("x", "deny-ingress", all())), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a y/b
x/a     .   X   .   .
x/b     X   .   .   .
y/a     X   X   .   .
y/b     X   X   .   .`})

	add(tcpCase("should support a 'default-deny-all' policy",
		model.ClauseIso, model.ClauseBoth, model.ClauseRule, model.ClauseSelf),
		pods(serve80, "x/a", "x/b", "y/a"),
		[]Step{{Name: "deny all ingress and egress in x", Actions: create(denyAll("x", "deny-all", all())), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   X   X
x/b     X   .   X
y/a     X   X   .`})

	add(tcpCase("should support allow-all policy",
		model.ClauseIso, model.ClauseRule),
		pods(serve8081, "x/a", "x/b", "y/a"),
		[]Step{{Name: "allow all ingress in x", Actions: create(
			newPolicy("x", "allow-all", all()).types(ingressOnly...).ingress(anyPeer()).build()), Probes: t8081}},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     .   .   .`, `
81/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     .   .   .`})

	add(tcpCase("should deny ingress from pods on other namespaces",
		model.ClauseIso, model.ClausePeerPod, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a", "z/a"),
		[]Step{{Name: "x allows ingress from its own pods only", Actions: create(
			newPolicy("x", "deny-empty-policy", all()).types(ingressOnly...).ingress(peers(podPeer(all()))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a z/a
x/a     .   .   .   .
x/b     .   .   .   .
y/a     X   X   .   .
z/a     X   X   .   .`})

	add(tcpCase("should enforce multiple ingress policies with ingress allow-all policy taking precedence",
		model.ClauseAdd, model.ClausePort, model.ClauseIso),
		pods(serve81, "x/a", "y/a"),
		[]Step{
			{Name: "x allows ingress on port 80 only", Actions: create(
				newPolicy("x", "allow-ingress-port-80", all()).types(ingressOnly...).ingress(onlyPorts(portNum(80))).build()), Probes: t81},
			{Name: "add an allow-all ingress policy", Actions: create(
				newPolicy("x", "allow-ingress", all()).types(ingressOnly...).ingress(anyPeer()).build()), Probes: t81},
		},
		[]string{`
81/TCP x/a y/a
x/a     .   .
y/a     X   .`},
		[]string{`
81/TCP x/a y/a
x/a     .   .
y/a     .   .`})

	add(tcpCase("should enforce multiple egress policies with egress allow-all policy taking precedence",
		model.ClauseAdd, model.ClausePort, model.ClauseIso),
		pods(serve81, "x/a", "y/a"),
		[]Step{
			{Name: "x allows egress on port 80 only", Actions: create(
				newPolicy("x", "allow-egress-port-80", all()).types(egressOnly...).egress(onlyPorts(portNum(80))).build()), Probes: t81},
			{Name: "add an allow-all egress policy", Actions: create(
				newPolicy("x", "allow-egress", all()).types(egressOnly...).egress(anyPeer()).build()), Probes: t81},
		},
		[]string{`
81/TCP x/a y/a
x/a     .   X
y/a     .   .`},
		[]string{`
81/TCP x/a y/a
x/a     .   .
y/a     .   .`})

	// --- pod and namespace selectors ---

	add(tcpCase("should enforce policy to allow traffic from pods within server namespace based on PodSelector",
		model.ClausePeerPod, model.ClauseSelector, model.ClauseIso),
		pods(serve80, "x/a", "x/b", "x/c", "y/a"),
		[]Step{{Name: "x/a allows ingress from x/b", Actions: create(
			newPolicy("x", "x-a-allows-x-b", podSel("a")).types(ingressOnly...).ingress(peers(podPeer(podSel("b")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b x/c y/a
x/a     .   .   .   .
x/b     .   .   .   .
x/c     X   .   .   .
y/a     X   .   .   .`})

	add(tcpCase("should enforce policy to allow ingress traffic for a target",
		model.ClauseAdd, model.ClausePeerAnd, model.ClauseIso),
		pods(serve80, "x/a", "x/b", "y/a"),
		[]Step{{Name: "deny ingress in x, then allow everything to x/a", Actions: create(
			denyIngress("x", "deny-all", all()),
			newPolicy("x", "allow-all-to-a", podSel("a")).types(ingressOnly...).ingress(peers(andPeer(all(), all()))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   X   .
x/b     .   .   .
y/a     .   X   .`})

	add(tcpCase("should enforce policy to allow ingress traffic from pods in all namespaces",
		model.ClausePeerNS, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a", "z/a"),
		[]Step{{Name: "x/a allows ingress from every namespace", Actions: create(
			newPolicy("x", "allow-from-another-ns", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(labelsSel()))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a z/a
x/a     .   .   .   .
x/b     .   .   .   .
y/a     .   .   .   .
z/a     .   .   .   .`})

	nsYOnlyGrid := `
80/TCP x/a x/b y/a z/a
x/a     .   .   .   .
x/b     X   .   .   .
y/a     .   .   .   .
z/a     X   .   .   .`

	add(tcpCase("should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
		model.ClausePeerNS, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a", "z/a"),
		[]Step{{Name: "x/a allows ingress from namespace y", Actions: create(
			newPolicy("x", "allow-client-a-via-ns-selector", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(nsNameSel("y")))).build()), Probes: t80}},
		[]string{nsYOnlyGrid})

	add(tcpCase("should enforce policy based on PodSelector with MatchExpressions",
		model.ClausePeerPod, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a"),
		[]Step{{Name: "x/a allows ingress from pod In [b]", Actions: create(
			newPolicy("x", "x-a-allows-x-b", podSel("a")).types(ingressOnly...).ingress(peers(podPeer(exprSel("pod", metav1.LabelSelectorOpIn, "b")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     X   .   .`})

	add(tcpCase("should enforce policy based on NamespaceSelector with MatchExpressions",
		model.ClausePeerNS, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a", "z/a"),
		[]Step{{Name: "x/a allows ingress from namespace In [y]", Actions: create(
			newPolicy("x", "allow-ns-y-match-selector", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(exprSel(model.NamespaceNameLabel, metav1.LabelSelectorOpIn, "y")))).build()), Probes: t80}},
		[]string{nsYOnlyGrid})

	add(tcpCase("should enforce policy based on PodSelector or NamespaceSelector",
		model.ClausePeerAnd, model.ClausePeerNS, model.ClausePeerPod, model.ClauseSelector, model.ClauseSelf),
		pods(serve80, "x/a", "x/b", "x/c", "y/a"),
		[]Step{{Name: "x/a allows ingress from namespaces NotIn [x] or from pod=b", Actions: create(
			newPolicy("x", "allow-ns-y-match-selector", podSel("a")).types(ingressOnly...).ingress(peers(
				nsPeer(exprSel(model.NamespaceNameLabel, metav1.LabelSelectorOpNotIn, "x")),
				podPeer(podSel("b")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b x/c y/a
x/a     .   .   .   .
x/b     .   .   .   .
x/c     X   .   .   .
y/a     .   .   .   .`})

	add(tcpCase("should enforce policy based on PodSelector and NamespaceSelector",
		model.ClausePeerAnd, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a", "y/b", "z/b"),
		[]Step{{Name: "x/a allows ingress from pod=b in namespaces NotIn [x]", Actions: create(
			newPolicy("x", "allow-ns-y-podselector-and-nsselector", podSel("a")).types(ingressOnly...).ingress(peers(
				andPeer(exprSel(model.NamespaceNameLabel, metav1.LabelSelectorOpNotIn, "x"), podSel("b")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a y/b z/b
x/a     .   .   .   .   .
x/b     X   .   .   .   .
y/a     X   .   .   .   .
y/b     .   .   .   .   .
z/b     .   .   .   .   .`})

	add(tcpCase("should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
		model.ClausePeerAnd, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a", "y/b", "y/c"),
		[]Step{{Name: "x/a allows ingress from pods In [b, c] in namespaces NotIn [x]", Actions: create(
			newPolicy("x", "allow-ns-y-z-pod-b-c", podSel("a")).types(ingressOnly...).ingress(peers(
				andPeer(exprSel(model.NamespaceNameLabel, metav1.LabelSelectorOpNotIn, "x"), exprSel("pod", metav1.LabelSelectorOpIn, "b", "c")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a y/b y/c
x/a     .   .   .   .   .
x/b     X   .   .   .   .
y/a     X   .   .   .   .
y/b     .   .   .   .   .
y/c     .   .   .   .   .`})

	add(tcpCase("should enforce policy based on any PodSelectors",
		model.ClausePeerAnd, model.ClausePeerPod),
		pods(serve80, "x/a", "x/b", "x/c"),
		[]Step{{Name: "x/a allows ingress from pod=b or pod=c", Actions: create(
			newPolicy("x", "allow-ns-x-pod-b-c", podSel("a")).types(ingressOnly...).ingress(peers(podPeer(podSel("b")), podPeer(podSel("c")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b x/c
x/a     .   .   .
x/b     .   .   .
x/c     .   .   .`})

	add(tcpCase("should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
		model.ClausePeerAnd, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a", "y/b", "z/a"),
		[]Step{{Name: "x/a allows ingress from y/a only", Actions: create(allowFromYA("x", "allow-ns-y-pod-a-via-namespace-pod-selector")), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a y/b z/a
x/a     .   .   .   .   .
x/b     X   .   .   .   .
y/a     .   .   .   .   .
y/b     X   .   .   .   .
z/a     X   .   .   .   .`})

	add(tcpCase("should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
		model.ClausePeerNS, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a", "z/a"),
		[]Step{{Name: "x/a allows ingress from the namespace named y", Actions: create(
			newPolicy("x", "allow-client-a-via-ns-selector-for-immutable-ns-label", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(nsNameSel("y")))).build()), Probes: t80}},
		[]string{nsYOnlyGrid})

	add(tcpCase("should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
		model.ClausePeerNS, model.ClauseSelector, model.ClauseIso),
		pods(serve80, "x/a", "x/b", "y/a", "z/a"),
		[]Step{{Name: "x/a allows egress to namespaces NotIn [y]", Actions: create(
			newPolicy("x", "allow-ns-y-match-selector-for-immutable-ns-label", podSel("a")).types(egressOnly...).egress(peers(nsPeer(exprSel(model.NamespaceNameLabel, metav1.LabelSelectorOpNotIn, "y")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a z/a
x/a     .   .   X   .
x/b     .   .   .   .
y/a     .   .   .   .
z/a     .   .   .   .`})

	// --- ports and named ports ---

	port81FromY := func(name string) *networkingv1.NetworkPolicy {
		return newPolicy("x", name, podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(nsNameSel("y"))).on(tcpPort(81))).build()
	}
	yOnly5 := `
%s x/a x/b y/a y/b z/a
x/a     .   .   .   .   .
x/b     X   .   .   .   .
y/a     .   .   .   .   .
y/b     .   .   .   .   .
z/a     X   .   .   .   .`
	closed5 := `
%s x/a x/b y/a y/b z/a
x/a     .   .   .   .   .
x/b     X   .   .   .   .
y/a     X   .   .   .   .
y/b     X   .   .   .   .
z/a     X   .   .   .   .`

	add(tcpCase("should enforce policy based on Ports",
		model.ClausePort, model.ClausePeerNS, model.ClauseRule),
		pods(serve81, "x/a", "x/b", "y/a", "y/b", "z/a"),
		[]Step{{Name: "x/a allows namespace y on TCP 81", Actions: create(port81FromY("allow-client-a-via-ns-selector")), Probes: t81}},
		[]string{gridf(yOnly5, "81/TCP")})

	add(tcpCase("should enforce multiple, stacked policies with overlapping podSelectors",
		model.ClauseAdd, model.ClausePort, model.ClausePeerNS),
		pods(serve8081, "x/a", "x/b", "y/a", "y/b", "z/a"),
		[]Step{
			{Name: "x/a allows namespace y on TCP 81", Actions: create(port81FromY("allow-client-a-via-ns-selector")), Probes: probes(tcp81, tcp80)},
			{Name: "a second policy allows namespace y on TCP 80", Actions: create(
				newPolicy("x", "allow-client-a-via-ns-selector-80", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(nsNameSel("y"))).on(tcpPort(80))).build()), Probes: t80},
		},
		[]string{gridf(yOnly5, "81/TCP"), gridf(closed5, "80/TCP")},
		[]string{gridf(yOnly5, "80/TCP")})

	add(tcpCase("should allow ingress access on one named port",
		model.ClauseNamed, model.ClausePort, model.ClauseIso),
		pods(serve8081, "x/a", "x/b", "y/a"),
		[]Step{{Name: "x allows ingress on serve-81-tcp only", Actions: create(
			newPolicy("x", "allow-all", all()).types(ingressOnly...).ingress(onlyPorts(namedPort("serve-81-tcp"))).build()), Probes: probes(tcp81, tcp80)}},
		[]string{`
81/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     .   .   .`, `
80/TCP x/a x/b y/a
x/a     .   X   .
x/b     X   .   .
y/a     X   X   .`})

	add(tcpCase("should allow ingress access from namespace on one named port",
		model.ClauseNamed, model.ClausePeerNS, model.ClauseRule),
		pods(serve8081, "x/a", "x/b", "y/a", "z/a"),
		[]Step{{Name: "x/a allows namespace y on serve-80-tcp", Actions: create(
			newPolicy("x", "allow-client-a-via-ns-selector-80", podSel("a")).types(ingressOnly...).ingress(
				peers(nsPeer(nsNameSel("y"))).on(namedPortProto(corev1.ProtocolTCP, "serve-80-tcp"))).build()), Probes: t8081}},
		[]string{nsYOnlyGrid, `
81/TCP x/a x/b y/a z/a
x/a     .   .   .   .
x/b     X   .   .   .
y/a     X   .   .   .
z/a     X   .   .   .`})

	add(tcpCase("should allow egress access on one named port",
		model.ClauseNamed, model.ClausePort, model.ClauseIso),
		pods(serve8081, "x/a", "y/a"),
		[]Step{{Name: "x allows egress on serve-80-tcp only", Actions: create(
			newPolicy("x", "allow-egress", all()).types(egressOnly...).egress(onlyPorts(namedPort("serve-80-tcp"))).build()), Probes: t8081}},
		[]string{`
80/TCP x/a y/a
x/a     .   .
y/a     .   .`, `
81/TCP x/a y/a
x/a     .   X
y/a     .   .`})

	// --- egress ---

	add(tcpCase("should deny egress from pods based on PodSelector",
		model.ClauseIso, model.ClauseSelector),
		pods(serve80, "x/a", "x/b", "y/a"),
		[]Step{{Name: "x/a is isolated for egress", Actions: create(denyEgress("x", "deny-egress-pod-a", podSel("a"))), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   X   X
x/b     .   .   .
y/a     .   .   .`})

	add(tcpCase("should deny egress from all pods in a namespace",
		model.ClauseIso, model.ClauseSelf),
		pods(serve80, "x/a", "x/b", "y/a"),
		[]Step{{Name: "x is isolated for egress", Actions: create(denyEgress("x", "deny-egress-ns-x", all())), Probes: t80}},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   X   X
x/b     X   .   X
y/a     .   .   .`})

	add(tcpCase("should work with Ingress, Egress specified together",
		model.ClauseBoth, model.ClauseTypes, model.ClausePort, model.ClausePeerPod),
		pods(serve8081, "x/a", "x/b", "x/c", "y/a"),
		[]Step{{Name: "x/a allows ingress from x/b and egress to port 80", Actions: create(
			newPolicy("x", "allow-client-a-via-pod-selector", podSel("a")).types(networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress).
				ingress(peers(podPeer(podSel("b")))).egress(onlyPorts(portNum(80))).build()), Probes: t8081}},
		[]string{`
80/TCP x/a x/b x/c y/a
x/a     .   .   .   .
x/b     .   .   .   .
x/c     X   .   .   .
y/a     X   .   .   .`, `
81/TCP x/a x/b x/c y/a
x/a     .   X   X   X
x/b     .   .   .   .
x/c     X   .   .   .
y/a     X   .   .   .`})

	add(tcpCase("should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
		model.ClauseBoth, model.ClausePeerAnd),
		pods(serve80, "x/a", "y/a", "y/b"),
		[]Step{{Name: "x/a may reach y/a only; y/a and y/b accept x/a only", Actions: create(
			newPolicy("x", "allow-to-ns-y-pod-a", podSel("a")).types(egressOnly...).egress(peers(andPeer(nsNameSel("y"), podSel("a")))).build(),
			newPolicy("y", "allow-from-xa-on-ya-match-selector", podSel("a")).types(ingressOnly...).ingress(peers(andPeer(nsNameSel("x"), podSel("a")))).build(),
			newPolicy("y", "allow-from-xa-on-yb-match-selector", podSel("b")).types(ingressOnly...).ingress(peers(andPeer(nsNameSel("x"), podSel("a")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a y/a y/b
x/a     .   .   X
y/a     .   .   X
y/b     .   X   .`})

	add(tcpCase("should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
		model.ClausePeerAnd, model.ClauseIso),
		pods(serve80, "x/a", "y/a", "y/b"),
		[]Step{{Name: "x/a may reach y/a only", Actions: create(
			newPolicy("x", "allow-to-ns-y-pod-a", podSel("a")).types(egressOnly...).egress(peers(andPeer(nsNameSel("y"), podSel("a")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a y/a y/b
x/a     .   .   X
y/a     .   .   .
y/b     .   .   .`})

	add(tcpCase("should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
		model.ClauseIso, model.ClauseAdd, model.ClauseBoth),
		pods(serve80, "x/a", "x/b", "y/a"),
		[]Step{
			{Name: "x/a allows all egress", Actions: create(
				newPolicy("x", "allow-egress-for-target", podSel("a")).types(egressOnly...).egress(anyPeer()).build()), Probes: t80},
			{Name: "x/a is isolated for ingress", Actions: create(denyIngress("x", "deny-ingress-via-label-selector", podSel("a"))), Probes: t80},
		},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     .   .   .`},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     X   .   .
y/a     X   .   .`})

	// --- ipBlock ---

	add(tcpCase("should allow egress access to server in CIDR block",
		model.ClauseIPBlock, model.ClauseIso),
		pods(serve80, "x/a", "y/a", "y/b"),
		[]Step{{Name: "x/a may reach the /32 of y/b", Actions: create(
			newPolicy("x", "allow-client-a-via-cidr-egress-rule", podSel("a")).types(egressOnly...).egress(peers(ipPeer(hostOf("y", "b")))).build()), Probes: t80}},
		[]string{`
80/TCP x/a y/a y/b
x/a     .   X   .
y/a     .   .   .
y/b     .   .   .`})

	exceptXB := CreatePolicy{Policy: newPolicy("x", "allow-client-a-via-cidr-egress-rule", podSel("a")).types(egressOnly...).egress(
		peers(ipPeer(wideAround("x", "b"), hostOf("x", "b")))).build()}
	exceptXBGrid := `
80/TCP x/a x/b x/c
x/a     .   X   .
x/b     .   .   .
x/c     .   .   .`

	add(tcpCase("should enforce except clause while egress access to server in CIDR block",
		model.ClauseIPBlock),
		pods(serve80, "x/a", "x/b", "x/c"),
		[]Step{{Name: "x/a may reach a wide CIDR except the /32 of x/b", Actions: one(exceptXB), Probes: t80}},
		[]string{exceptXBGrid})

	add(tcpCase("should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
		model.ClauseIPBlock),
		pods(serve80, "x/a", "x/b", "x/c"),
		[]Step{
			{Name: "x/a may reach a wide CIDR except the /32 of x/b", Actions: one(exceptXB), Probes: t80},
			{Name: "the policy is rewritten to allow only the /32 of x/b", Actions: one(update(
				newPolicy("x", "allow-client-a-via-cidr-egress-rule", podSel("a")).types(egressOnly...).egress(peers(ipPeer(hostOf("x", "b")))).build())), Probes: t80},
		},
		[]string{exceptXBGrid},
		[]string{`
80/TCP x/a x/b x/c
x/a     .   .   X
x/b     .   .   .
x/c     .   .   .`})

	// --- protocols ---

	add(tcpCase("should enforce ingress policy allowing any port traffic to a server on a specific protocol",
		model.ClausePort, model.ClauseIso),
		pods(probes(tcp80, udp80), "x/a", "y/a"),
		[]Step{{Name: "x/a allows every TCP port", Actions: create(
			newPolicy("x", "allow-ingress-by-proto", podSel("a")).types(ingressOnly...).ingress(onlyPorts(protoOnly(corev1.ProtocolTCP))).build()), Probes: probes(tcp80, udp80)}},
		[]string{`
80/TCP x/a y/a
x/a     .   .
y/a     .   .`, `
80/UDP x/a y/a
x/a     .   .
y/a     X   .`})

	add(tcpCase("should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
		model.ClausePort, model.ClauseAdd),
		pods(serve81, "x/a", "y/a"),
		[]Step{{Name: "deny ingress in x, allow SCTP 81 to x/a", Actions: create(
			denyIngress("x", "deny-ingress", all()),
			newPolicy("x", "allow-only-sctp-ingress-on-port-81", podSel("a")).types(ingressOnly...).ingress(onlyPorts(sctpPort(81))).build()), Probes: t81}},
		[]string{`
81/TCP x/a y/a
x/a     .   .
y/a     X   .`})

	add(tcpCase("should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
		model.ClausePort, model.ClauseIso),
		pods(serve81, "x/a", "y/a"),
		[]Step{{Name: "x/a allows SCTP 80 only", Actions: create(
			newPolicy("x", "allow-only-sctp-ingress-on-port-80", podSel("a")).types(ingressOnly...).ingress(onlyPorts(sctpPort(80))).build()), Probes: t81}},
		[]string{`
81/TCP x/a y/a
x/a     .   .
y/a     X   .`})

	add(tcpCase("should not allow access by TCP when a policy specifies only UDP",
		model.ClausePort, model.ClauseIso),
		pods(serve81, "x/a", "y/a"),
		[]Step{{Name: "x/a allows UDP 81 only", Actions: create(
			newPolicy("x", "allow-only-udp-ingress-on-port-81", podSel("a")).types(ingressOnly...).ingress(onlyPorts(udpPort(81))).build()), Probes: t81}},
		[]string{`
81/TCP x/a y/a
x/a     .   .
y/a     X   .`})

	// --- updates and lifecycle ---

	add(tcpCase("should enforce updated policy",
		model.ClauseRule, model.ClauseIso),
		pods(serve81, "x/a", "y/a"),
		[]Step{
			{Name: "x allows all ingress", Actions: create(newPolicy("x", "allow-all-mutate-to-deny-all", all()).types(ingressOnly...).ingress(anyPeer()).build()), Probes: t81},
			{Name: "the policy is updated to no ingress rules", Actions: one(update(newPolicy("x", "allow-all-mutate-to-deny-all", all()).types(ingressOnly...).ingress().build())), Probes: t81},
		},
		[]string{`
81/TCP x/a y/a
x/a     .   .
y/a     .   .`},
		[]string{`
81/TCP x/a y/a
x/a     .   .
y/a     X   .`})

	add(tcpCase("should allow ingress access from updated namespace",
		model.ClausePeerNS, model.ClauseSelector),
		pods(serve80, "x/a", "y/a"),
		[]Step{
			{Name: "x/a allows namespaces labelled ns2=updated", Actions: create(
				newPolicy("x", "allow-client-a-via-ns-selector", podSel("a")).types(ingressOnly...).ingress(peers(nsPeer(labelsSel("ns2", "updated")))).build()), Probes: t80},
			{Name: "namespace y gets ns2=updated", Actions: one(setNamespaceLabels("y", "ns", "y", "ns2", "updated")), Probes: t80},
		},
		[]string{`
80/TCP x/a y/a
x/a     .   .
y/a     X   .`},
		[]string{`
80/TCP x/a y/a
x/a     .   .
y/a     .   .`})

	add(tcpCase("should allow ingress access from updated pod",
		model.ClausePeerPod, model.ClauseSelector),
		pods(serve80, "x/a", "x/b"),
		[]Step{
			{Name: "x/a allows pods labelled pod=b,pod2=updated", Actions: create(
				newPolicy("x", "allow-client-a-via-pod-selector", podSel("a")).types(ingressOnly...).ingress(peers(podPeer(labelsSel("pod", "b", "pod2", "updated")))).build()), Probes: t80},
			{Name: "x/b gets pod2=updated", Actions: one(setPodLabels("x", "b", "pod", "b", "pod2", "updated")), Probes: t80},
		},
		[]string{`
80/TCP x/a x/b
x/a     .   .
x/b     X   .`},
		[]string{`
80/TCP x/a x/b
x/a     .   .
x/b     .   .`})

	add(tcpCase("should deny ingress access to updated pod",
		model.ClauseIso, model.ClauseSelector),
		pods(serve80, "x/a", "y/a"),
		[]Step{
			{Name: "a deny-ingress policy selects target=isolated", Actions: create(denyIngress("x", "deny-ingress-via-label-selector", labelsSel("target", "isolated"))), Probes: t80},
			{Name: "x/a gets target=isolated", Actions: one(setPodLabels("x", "a", "pod", "a", "target", "isolated")), Probes: t80},
		},
		[]string{`
80/TCP x/a y/a
x/a     .   .
y/a     .   .`},
		[]string{`
80/TCP x/a y/a
x/a     .   .
y/a     X   .`})

	add(tcpCase("should stop enforcing policies after they are deleted",
		model.ClauseIso),
		pods(serve80, "x/a", "y/a"),
		[]Step{
			{Name: "deny all in x", Actions: create(denyAll("x", "deny-all", all())), Probes: t80},
			{Name: "delete the policy", Actions: one(deletePolicy("x", "deny-all")), Probes: t80},
		},
		[]string{`
80/TCP x/a y/a
x/a     .   X
y/a     X   .`},
		[]string{`
80/TCP x/a y/a
x/a     .   .
y/a     .   .`})

	return out
}

// allowFromYA is the upstream policy that lets only y/a into x/a.
func allowFromYA(ns, name string) *networkingv1.NetworkPolicy {
	return newPolicy(ns, name, podSel("a")).types(ingressOnly...).ingress(peers(andPeer(nsNameSel("y"), podSel("a")))).build()
}
