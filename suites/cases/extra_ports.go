package cases

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// extraPorts covers port matching upstream leaves out: endPort ranges on the
// data plane, named ports that resolve per pod, and protocols kept apart.
func extraPorts() []scenario {
	var out []scenario
	out = append(out, endPortCases()...)
	out = append(out, namedPortCases()...)
	out = append(out, protocolCases()...)
	return out
}

// portSpan lists port..last on one protocol.
func portSpan(proto corev1.Protocol, first, last int32) []model.PortProtocol {
	var out []model.PortProtocol
	for p := first; p <= last; p++ {
		out = append(out, probe(p, proto))
	}
	return out
}

// twoPodGrid writes the 2x2 grid of pods x/a and y/a for one port, given
// whether y/a -> x/a and x/a -> y/a are allowed; the diagonal is allowed.
func twoPodGrid(pp model.PortProtocol, yaToXa, xaToYa bool) string {
	g := func(ok bool) string {
		if ok {
			return "."
		}
		return "X"
	}
	return fmt.Sprintf("\n%d/%s x/a y/a\nx/a     .   %s\ny/a     %s   .", pp.Port, pp.Protocol, g(xaToYa), g(yaToXa))
}

func endPortCases() []scenario {
	var out []scenario
	// The probe set is port-1, port, endPort and endPort+1, so both edges of
	// the range are checked from inside and outside.
	for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
		span := portSpan(proto, 80, 83)
		var want []string
		for _, pp := range span {
			want = append(want, twoPodGrid(pp, pp.Port == 81 || pp.Port == 82, true))
		}
		out = append(out, with(extraCase(fmt.Sprintf("ingress endPort range on %s admits port through endPort and nothing beside", proto),
			model.ClausePort),
			pods(span, "x/a", "y/a"),
			[]Step{{Name: fmt.Sprintf("x/a admits %s 81-82", proto), Actions: create(
				newPolicy("x", "ingress-range", podSel("a")).types(ingressOnly...).ingress(onlyPorts(portRange(proto, 81, 82))).build()), Probes: span}},
			want))
	}

	span := portSpan(corev1.ProtocolTCP, 80, 83)
	var want []string
	for _, pp := range span {
		want = append(want, twoPodGrid(pp, true, pp.Port == 81 || pp.Port == 82))
	}
	out = append(out, with(extraCase("egress endPort range admits port through endPort and nothing beside",
		model.ClausePort),
		pods(span, "x/a", "y/a"),
		[]Step{{Name: "x/a may send to TCP 81-82", Actions: create(
			newPolicy("x", "egress-range", podSel("a")).types(egressOnly...).egress(onlyPorts(portRange(corev1.ProtocolTCP, 81, 82))).build()), Probes: span}},
		want))

	span = portSpan(corev1.ProtocolTCP, 80, 82)
	out = append(out, with(extraCase("endPort equal to port admits exactly one port",
		model.ClausePort),
		pods(span, "x/a", "y/a"),
		[]Step{{Name: "x/a admits TCP 81-81", Actions: create(
			newPolicy("x", "single-port-range", podSel("a")).types(ingressOnly...).ingress(onlyPorts(portRange(corev1.ProtocolTCP, 81, 81))).build()), Probes: span}},
		[]string{twoPodGrid(span[0], false, true), twoPodGrid(span[1], true, true), twoPodGrid(span[2], false, true)}))

	both := probes(tcp80, tcp81, udp80, udp81)
	out = append(out, with(extraCase("UDP endPort range does not admit TCP",
		model.ClausePort),
		pods(both, "x/a", "y/a"),
		[]Step{{Name: "x/a admits UDP 80-81", Actions: create(
			newPolicy("x", "udp-range", podSel("a")).types(ingressOnly...).ingress(onlyPorts(portRange(corev1.ProtocolUDP, 80, 81))).build()), Probes: both}},
		[]string{twoPodGrid(tcp80, false, true), twoPodGrid(tcp81, false, true), twoPodGrid(udp80, true, true), twoPodGrid(udp81, true, true)}))
	return out
}

func namedPortCases() []scenario {
	var out []scenario
	// x/a calls port 80 "web", x/b calls port 81 "web"; both serve 80 and 81.
	swapped := func() *model.Topology {
		t := pods(probes(tcp80, tcp81), "x/a", "x/b", "y/a")
		withPorts(t, "x/a", containerPort("web", 80, corev1.ProtocolTCP), containerPort("admin", 81, corev1.ProtocolTCP))
		withPorts(t, "x/b", containerPort("admin", 80, corev1.ProtocolTCP), containerPort("web", 81, corev1.ProtocolTCP))
		return t
	}
	out = append(out, with(extraCase("ingress named port resolves to a different number on each selected pod",
		model.ClauseNamed, model.ClausePort),
		swapped(),
		[]Step{{Name: "x admits the port named web", Actions: create(
			newPolicy("x", "allow-web", all()).types(ingressOnly...).ingress(onlyPorts(namedPort("web"))).build()), Probes: probes(tcp80, tcp81)}},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   X   .
x/b     .   .   .
y/a     .   X   .`, `
81/TCP x/a x/b y/a
x/a     .   .   .
x/b     X   .   .
y/a     X   .   .`}))

	out = append(out, with(extraCase("egress named port resolves against each destination pod",
		model.ClauseNamed, model.ClausePort),
		swapped(),
		[]Step{{Name: "y/a may send to the port named web", Actions: create(
			newPolicy("y", "egress-web", podSel("a")).types(egressOnly...).egress(onlyPorts(namedPort("web"))).build()), Probes: probes(tcp80, tcp81)}},
		[]string{`
80/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     .   X   .`, `
81/TCP x/a x/b y/a
x/a     .   .   .
x/b     .   .   .
y/a     X   .   .`}))

	tcpUDP := probes(tcp80, udp80)
	out = append(out, with(extraCase("named port with a protocol that port does not have matches nothing",
		model.ClauseNamed),
		pods(tcpUDP, "x/a", "y/a"),
		[]Step{{Name: "x/a admits serve-80-tcp on UDP", Actions: create(
			newPolicy("x", "named-wrong-protocol", podSel("a")).types(ingressOnly...).ingress(onlyPorts(namedPortProto(corev1.ProtocolUDP, "serve-80-tcp"))).build()), Probes: tcpUDP}},
		[]string{twoPodGrid(tcp80, false, true), twoPodGrid(udp80, false, true)}))

	out = append(out, with(extraCase("named UDP port admits UDP only",
		model.ClauseNamed, model.ClausePort),
		pods(tcpUDP, "x/a", "y/a"),
		[]Step{{Name: "x/a admits serve-80-udp on UDP", Actions: create(
			newPolicy("x", "named-udp", podSel("a")).types(ingressOnly...).ingress(onlyPorts(namedPortProto(corev1.ProtocolUDP, "serve-80-udp"))).build()), Probes: tcpUDP}},
		[]string{twoPodGrid(tcp80, false, true), twoPodGrid(udp80, true, true)}))

	out = append(out, with(extraCase("unresolvable named port isolates the pod and admits nothing",
		model.ClauseNamed, model.ClauseIso),
		pods(probes(tcp80), "x/a", "y/a"),
		[]Step{{Name: "x/a admits a port name no container has", Actions: create(
			newPolicy("x", "named-missing", podSel("a")).types(ingressOnly...).ingress(onlyPorts(namedPort("no-such-port"))).build()), Probes: probes(tcp80)}},
		[]string{twoPodGrid(tcp80, false, true)}))
	return out
}

func protocolCases() []scenario {
	var out []scenario
	all3 := probes(tcp80, udp80, sctp80)
	for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
		var want []string
		for _, pp := range all3 {
			want = append(want, twoPodGrid(pp, pp.Protocol == proto, true))
		}
		out = append(out, with(extraCase(fmt.Sprintf("ingress rule for %s 80 admits no other protocol on port 80", proto),
			model.ClausePort),
			pods(all3, "x/a", "y/a"),
			[]Step{{Name: fmt.Sprintf("x/a admits %s 80", proto), Actions: create(
				newPolicy("x", "allow-"+strings.ToLower(string(proto))+"-80", podSel("a")).types(ingressOnly...).ingress(onlyPorts(portProto(proto, 80))).build()), Probes: all3}},
			want))
	}

	out = append(out, with(extraCase("egress port without protocol means TCP",
		model.ClausePort),
		pods(all3, "x/a", "y/a"),
		[]Step{{Name: "x/a may send to port 80, protocol unset", Actions: create(
			newPolicy("x", "egress-80-default-protocol", podSel("a")).types(egressOnly...).egress(onlyPorts(portNum(80))).build()), Probes: all3}},
		[]string{twoPodGrid(tcp80, true, true), twoPodGrid(udp80, true, false), twoPodGrid(sctp80, true, false)}))

	sctpAnd := probes(tcp80, sctp80, sctp81)
	out = append(out, with(extraCase("protocol-only SCTP port entry admits every SCTP port and no TCP",
		model.ClausePort),
		pods(sctpAnd, "x/a", "y/a"),
		[]Step{{Name: "x/a admits protocol SCTP, no port", Actions: create(
			newPolicy("x", "allow-sctp", podSel("a")).types(ingressOnly...).ingress(onlyPorts(protoOnly(corev1.ProtocolSCTP))).build()), Probes: sctpAnd}},
		[]string{twoPodGrid(tcp80, false, true), twoPodGrid(sctp80, true, true), twoPodGrid(sctp81, true, true)}))
	return out
}
