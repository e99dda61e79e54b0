package cases

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// extraTypes covers the policyTypes corners of NP-TYPES. These policies are
// written without defaulting on purpose: what the API server or the plugin
// infers from an unset policyTypes is the point of the case.
func extraTypes() []scenario {
	t80 := probes(tcp80)
	serve := pods(t80, "x/a", "x/b", "y/a")
	return []scenario{
		with(extraCase("unset policyTypes with egress rules isolates both directions",
			model.ClauseTypes, model.ClauseIso, model.ClauseBoth),
			serve,
			[]Step{{Name: "x/a may send to pod=b; policyTypes unset, no ingress section", Actions: create(
				newPolicy("x", "egress-only-written", podSel("a")).egress(peers(podPeer(podSel("b")))).build()), Probes: t80}},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   .   X
x/b     X   .   .
y/a     X   .   .`}),

		with(extraCase("policyTypes Egress alone ignores the ingress rules",
			model.ClauseTypes, model.ClauseIso),
			serve,
			[]Step{{Name: "x/a: policyTypes [Egress], ingress from pod=b, no egress rules", Actions: create(
				newPolicy("x", "egress-type-only", podSel("a")).types(egressOnly...).ingress(peers(podPeer(podSel("b")))).egress().build()), Probes: t80}},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   X   X
x/b     .   .   .
y/a     .   .   .`}),

		with(extraCase("policyTypes Ingress alone ignores the egress rules",
			model.ClauseTypes, model.ClauseIso),
			serve,
			// Honoured, the egress rule would keep x/a from y/a.
			[]Step{{Name: "x/a: policyTypes [Ingress], ingress from pod=b, egress to pod=b", Actions: create(
				newPolicy("x", "ingress-type-only", podSel("a")).types(ingressOnly...).ingress(peers(podPeer(podSel("b")))).egress(peers(podPeer(podSel("b")))).build()), Probes: t80}},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     X   .   .`}),

		with(extraCase("absent ingress, empty ingress and one empty rule under unset policyTypes",
			model.ClauseTypes, model.ClauseRule, model.ClauseIso),
			pods(t80, "x/a", "y/a"),
			[]Step{
				{Name: "x/a: only a podSelector", Actions: create(newPolicy("x", "bare", podSel("a")).build()), Probes: t80},
				{Name: "ingress: [] (same meaning)", Actions: one(update(newPolicy("x", "bare", podSel("a")).ingress().build())), Probes: t80},
				{Name: "ingress: [{}] admits everything", Actions: one(update(newPolicy("x", "bare", podSel("a")).ingress(anyPeer()).build())), Probes: t80},
			},
			[]string{twoPodGrid(tcp80, false, true)},
			[]string{twoPodGrid(tcp80, false, true)},
			[]string{twoPodGrid(tcp80, true, true)}),

		with(extraCase("empty egress under unset policyTypes does not isolate egress until Egress is named",
			model.ClauseTypes, model.ClauseIso),
			pods(t80, "x/a", "y/a"),
			[]Step{
				{Name: "x/a: ingress [{}] and egress [] with policyTypes unset", Actions: create(
					newPolicy("x", "egress-empty", podSel("a")).ingress(anyPeer()).egress().build()), Probes: t80},
				{Name: "policyTypes [Ingress, Egress]", Actions: one(update(
					newPolicy("x", "egress-empty", podSel("a")).types(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress).ingress(anyPeer()).egress().build())), Probes: t80},
			},
			[]string{twoPodGrid(tcp80, true, true)},
			[]string{twoPodGrid(tcp80, true, false)}),

		with(extraCase("rule with an empty peer list and a port admits every peer on that port",
			model.ClauseRule, model.ClausePort),
			pods(probes(tcp80, tcp81), "x/a", "y/a"),
			[]Step{{Name: "x/a: from [] on TCP 80", Actions: create(
				newPolicy("x", "empty-from", podSel("a")).types(ingressOnly...).ingress(rule{peers: []networkingv1.NetworkPolicyPeer{}}.on(tcpPort(80))).build()), Probes: probes(tcp80, tcp81)}},
			[]string{twoPodGrid(tcp80, true, true), twoPodGrid(tcp81, false, true)}),
	}
}
