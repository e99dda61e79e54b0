package cases

import (
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// extraIPBlock covers ipBlock where upstream has no case: ingress, several
// excepts, ipBlock next to selectors, ipBlock with ports.
func extraIPBlock() []scenario {
	serve80 := probes(tcp80)
	return []scenario{
		with(extraCase("ingress ipBlock with except admits the CIDR but not the excepted pod",
			model.ClauseIPBlock, model.ClauseIso),
			pods(serve80, "x/a", "y/a", "y/b", "z/a"),
			[]Step{{Name: "x/a admits a wide CIDR around y/a except y/a's address", Actions: create(
				newPolicy("x", "ingress-cidr-except", podSel("a")).types(ingressOnly...).ingress(peers(ipPeer(wideAround("y", "a"), hostOf("y", "a")))).build()), Probes: serve80}},
			[]string{`
80/TCP x/a y/a y/b z/a
x/a     .   .   .   .
y/a     X   .   .   .
y/b     .   .   .   .
z/a     .   .   .   .`}),

		with(extraCase("ingress ipBlock of one pod address admits only that pod",
			model.ClauseIPBlock, model.ClauseTypes),
			pods(serve80, "x/a", "x/b", "y/a"),
			// policyTypes unset: the ingress section implies Ingress.
			[]Step{{Name: "x/a admits the address of x/b only", Actions: create(
				newPolicy("x", "ingress-from-xb-address", podSel("a")).ingress(peers(ipPeer(hostOf("x", "b")))).build()), Probes: serve80}},
			[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     X   .   .`}),

		with(extraCase("egress ipBlock with two excepts denies both excepted pods",
			model.ClauseIPBlock),
			pods(serve80, "x/a", "y/a", "y/b", "y/c"),
			[]Step{{Name: "x/a may reach a wide CIDR except y/a and y/c", Actions: create(
				newPolicy("x", "egress-cidr-two-excepts", podSel("a")).types(egressOnly...).egress(peers(ipPeer(wideAround("y", "a"), hostOf("y", "a"), hostOf("y", "c")))).build()), Probes: serve80}},
			[]string{`
80/TCP x/a y/a y/b y/c
x/a     .   X   .   X
y/a     .   .   .   .
y/b     .   .   .   .
y/c     .   .   .   .`}),

		with(extraCase("ipBlock and podSelector peers of one rule are alternatives",
			model.ClauseIPBlock, model.ClausePeerAnd, model.ClausePeerPod),
			pods(serve80, "x/a", "x/b", "x/c", "y/a"),
			[]Step{{Name: "x/a admits y/a's address or pod=b", Actions: create(
				newPolicy("x", "ip-or-pod", podSel("a")).types(ingressOnly...).ingress(peers(ipPeer(hostOf("y", "a")), podPeer(podSel("b")))).build()), Probes: serve80}},
			[]string{`
80/TCP x/a x/b x/c y/a
x/a     .   .   .   .
x/b     .   .   .   .
x/c     X   .   .   .
y/a     .   .   .   .`}),

		with(extraCase("ingress ipBlock with a port admits that port only",
			model.ClauseIPBlock, model.ClauseRule, model.ClausePort),
			pods(probes(tcp80, tcp81), "x/a", "y/a"),
			[]Step{{Name: "x/a admits a wide CIDR on TCP 81", Actions: create(
				newPolicy("x", "cidr-on-81", podSel("a")).types(ingressOnly...).ingress(peers(ipPeer(wideAround("y", "a"))).on(tcpPort(81))).build()), Probes: probes(tcp80, tcp81)}},
			[]string{`
80/TCP x/a y/a
x/a     .   .
y/a     X   .`, `
81/TCP x/a y/a
x/a     .   .
y/a     .   .`}),
	}
}
