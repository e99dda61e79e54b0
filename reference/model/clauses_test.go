package model

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// One table per clause of DESIGN.md. Default topology addresses: x/a .1.10,
// x/b .2.11, x/c .1.12, y/a .2.13, y/b .1.14, y/c .2.15, z/a .1.16, z/b .2.17,
// z/c .1.18 (all 10.244.N.M; N is the node), node-1 172.18.0.2, node-2 172.18.0.3.

const (
	in  = networkingv1.PolicyTypeIngress
	out = networkingv1.PolicyTypeEgress
	tcp = corev1.ProtocolTCP
	udp = corev1.ProtocolUDP
	sct = corev1.ProtocolSCTP
)

var (
	all      = &metav1.LabelSelector{}
	denyInY  = policy("y", "deny-ingress", all)
	denyOutX = policy("x", "deny-egress", all, types(out))
)

func ps(p ...*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy { return p }

func TestNP_TYPES(t *testing.T) {
	runCells(t, []cellCase{
		{name: "unset without egress rules: ingress only", policies: ps(policy("x", "p", all)),
			from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseIso},
		{name: "unset without egress rules isolates ingress", policies: ps(policy("y", "p", all)),
			from: "x/a", to: "y/b", ingress: Denied, egress: Allowed, clause: ClauseIso, text: "policyTypes unset, effective [Ingress]"},
		{name: "unset with an egress rule adds Egress", policies: ps(policy("x", "p", all, egressRule(peers(podPeer(labelsSel("pod", "b")))))),
			from: "x/a", to: "y/b", ingress: Allowed, egress: Denied, text: "effective [Ingress, Egress]"},
		{name: "unset with egress: [] is not Egress", policies: ps(policy("x", "p", all, func(s *networkingv1.NetworkPolicySpec) { s.Egress = []networkingv1.NetworkPolicyEgressRule{} })),
			from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "[Egress] only ignores ingress rules", policies: ps(policy("y", "p", labelsSel("pod", "b"), types(out), ingressRule(peers(podPeer(labelsSel("pod", "zzz")))))),
			from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "[Egress] only isolates egress of the selected pod", policies: ps(policy("y", "p", labelsSel("pod", "b"), types(out), ingressRule(nil))),
			from: "y/b", to: "x/a", ingress: Allowed, egress: Denied, clause: ClauseRule},
		{name: "[Ingress, Egress] with no rules denies both", policies: ps(policy("x", "p", all, types(in, out)), policy("y", "p", all, types(in, out))),
			from: "x/a", to: "y/b", ingress: Denied, egress: Denied},
	})
}

func TestNP_ISO(t *testing.T) {
	runCells(t, []cellCase{
		{name: "default deny ingress in y isolates y/b", policies: ps(denyInY),
			from: "x/a", to: "y/b", ingress: Denied, egress: Allowed, clause: ClauseIso, text: "isolated for ingress by y/deny-ingress"},
		{name: "no policy: not isolated", from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseIso, text: "not isolated"},
		{name: "policy selecting another pod does not isolate", policies: ps(policy("y", "p", labelsSel("pod", "a"))),
			from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "policy in another namespace does not isolate", policies: ps(policy("x", "p", all)),
			from: "z/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "ingress: [] denies all", policies: ps(policy("y", "p", all, func(s *networkingv1.NetworkPolicySpec) { s.Ingress = []networkingv1.NetworkPolicyIngressRule{} })),
			from: "x/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "no ingress field denies all", policies: ps(policy("y", "p", all, types(in))),
			from: "x/a", to: "y/b", ingress: Denied, egress: Allowed, text: "has no ingress rules"},
		{name: "ingress: [{}] allows all", policies: ps(policy("y", "p", all, ingressRule(nil))),
			from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseRule},
		{name: "egress isolation of the source", policies: ps(denyOutX),
			from: "x/a", to: "y/b", ingress: Allowed, egress: Denied, text: "isolated for egress by x/deny-egress"},
	})
}

func TestNP_ADD(t *testing.T) {
	fromA := policy("y", "from-a", all, ingressRule(peers(nsPeer(labelsSel("ns", "x")))))
	fromZ := policy("y", "from-z", all, ingressRule(peers(nsPeer(labelsSel("ns", "z")))))
	runCells(t, []cellCase{
		{name: "first policy admits", policies: ps(fromA, fromZ), from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseAdd},
		{name: "second policy admits", policies: ps(fromA, fromZ), from: "z/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "order is irrelevant", policies: ps(fromZ, fromA), from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "deny-all does not subtract", policies: ps(fromA, denyInY), from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "neither admits", policies: ps(fromA, fromZ), from: "y/a", to: "y/b", ingress: Denied, egress: Allowed},
	})
}

func TestNP_BOTH(t *testing.T) {
	allowToY := policy("x", "to-y", all, egressRule(peers(nsPeer(labelsSel("ns", "y")))))
	allowFromX := policy("y", "from-x", all, ingressRule(peers(nsPeer(labelsSel("ns", "x")))))
	runCells(t, []cellCase{
		{name: "egress denied, ingress open", policies: ps(denyOutX), from: "x/a", to: "y/b", ingress: Allowed, egress: Denied, clause: ClauseBoth},
		{name: "ingress denied, egress allowed by rule", policies: ps(allowToY, denyInY), from: "x/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "both allowed by rules", policies: ps(allowToY, allowFromX), from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "egress rule does not reach z", policies: ps(allowToY), from: "x/a", to: "z/b", ingress: Allowed, egress: Denied},
	})
}

func TestNP_RULE(t *testing.T) {
	portsNoPeers := policy("y", "p", all, ingressRule(nil, numPort(tcp, 80)))
	peersNoPorts := policy("y", "p", all, ingressRule(peers(podPeer(labelsSel("pod", "a")))))
	emptyFrom := policy("y", "p", all, ingressRule([]networkingv1.NetworkPolicyPeer{}, numPort(tcp, 81)))
	runCells(t, []cellCase{
		{name: "ports but no peers: any source on the port", policies: ps(portsNoPeers), from: "z/c", to: "y/b", port: 80, ingress: Allowed, egress: Allowed, text: "has no peers"},
		{name: "ports but no peers: other port denied", policies: ps(portsNoPeers), from: "z/c", to: "y/b", port: 81, ingress: Denied, egress: Allowed, clause: ClausePort},
		{name: "from: [] is every source", policies: ps(emptyFrom), from: "x/b", to: "y/b", port: 81, ingress: Allowed, egress: Allowed},
		{name: "peers but no ports: every port", policies: ps(peersNoPorts), from: "y/a", to: "y/b", port: 81, proto: udp, ingress: Allowed, egress: Allowed},
		{name: "peers but no ports: SCTP too", policies: ps(peersNoPorts), from: "y/a", to: "y/b", port: 80, proto: sct, ingress: Allowed, egress: Allowed},
		{name: "peers but no ports: other peer denied", policies: ps(peersNoPorts), from: "y/c", to: "y/b", ingress: Denied, egress: Allowed, text: "no peer matches"},
		{name: "isolated with no rules allows nothing", policies: ps(denyInY), from: "y/a", to: "y/b", ingress: Denied, egress: Allowed, text: "no rule admits"},
		{name: "egress rule with ports but no peers", policies: ps(policy("x", "p", all, egressRule(nil, numPort(udp, 81)))),
			from: "x/a", to: "z/c", port: 81, proto: udp, ingress: Allowed, egress: Allowed},
		{name: "egress rule with ports but no peers: TCP denied", policies: ps(policy("x", "p", all, egressRule(nil, numPort(udp, 81)))),
			from: "x/a", to: "z/c", port: 81, proto: tcp, ingress: Allowed, egress: Denied},
	})
}

func TestNP_PEER_POD(t *testing.T) {
	fromPodA := policy("y", "p", all, ingressRule(peers(podPeer(labelsSel("pod", "a")))))
	runCells(t, []cellCase{
		{name: "pod in the policy namespace", policies: ps(fromPodA), from: "y/a", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClausePeerPod},
		{name: "same labels in another namespace do not match", policies: ps(fromPodA), from: "x/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "podSelector {} is every pod of the namespace", policies: ps(policy("y", "p", all, ingressRule(peers(podPeer(all))))), from: "y/c", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "podSelector {} is not other namespaces", policies: ps(policy("y", "p", all, ingressRule(peers(podPeer(all))))), from: "z/c", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "egress to a pod in the own namespace", policies: ps(policy("x", "p", all, types(out), egressRule(peers(podPeer(labelsSel("pod", "c")))))), from: "x/a", to: "x/c", ingress: Allowed, egress: Allowed},
		{name: "egress podSelector does not reach other namespaces", policies: ps(policy("x", "p", all, egressRule(peers(podPeer(labelsSel("pod", "c")))))), from: "x/a", to: "y/c", ingress: Allowed, egress: Denied},
	})
}

func TestNP_PEER_NS(t *testing.T) {
	runCells(t, []cellCase{
		{name: "every pod of a selected namespace", policies: ps(policy("y", "p", all, ingressRule(peers(nsPeer(labelsSel("ns", "x")))))), from: "x/c", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClausePeerNS},
		{name: "unselected namespace", policies: ps(policy("y", "p", all, ingressRule(peers(nsPeer(labelsSel("ns", "x")))))), from: "z/c", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "the own namespace only when selected", policies: ps(policy("y", "p", all, ingressRule(peers(nsPeer(labelsSel("ns", "x")))))), from: "y/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "{} selects every namespace", policies: ps(policy("y", "p", all, ingressRule(peers(nsPeer(all))))), from: "z/c", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "kubernetes.io/metadata.name is implied", policies: ps(policy("y", "p", all, ingressRule(peers(nsPeer(labelsSel(NamespaceNameLabel, "z")))))), from: "z/a", to: "y/b", ingress: Allowed, egress: Allowed},
	})
}

func TestNP_PEER_AND(t *testing.T) {
	one := policy("y", "one-peer", all, ingressRule(peers(andPeer(labelsSel("pod", "a"), labelsSel("ns", "x")))))
	two := policy("y", "two-peers", all, ingressRule(peers(podPeer(labelsSel("pod", "a")), nsPeer(labelsSel("ns", "x")))))
	runCells(t, []cellCase{
		{name: "one peer: both match", policies: ps(one), from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClausePeerAnd},
		{name: "one peer: namespace matches, pod does not", policies: ps(one), from: "x/b", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "one peer: pod matches in the policy namespace, namespace does not", policies: ps(one), from: "y/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "one peer: pod matches in another namespace", policies: ps(one), from: "z/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "two peers: pod peer alone", policies: ps(two), from: "y/a", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClausePeerPod},
		{name: "two peers: namespace peer alone", policies: ps(two), from: "x/b", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClausePeerNS},
		{name: "two peers: neither", policies: ps(two), from: "z/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "egress, one peer", policies: ps(policy("x", "p", all, egressRule(peers(andPeer(labelsSel("pod", "b"), labelsSel("ns", "z")))))), from: "x/a", to: "z/b", ingress: Allowed, egress: Allowed},
		{name: "egress, one peer, wrong namespace", policies: ps(policy("x", "p", all, egressRule(peers(andPeer(labelsSel("pod", "b"), labelsSel("ns", "z")))))), from: "x/a", to: "y/b", ingress: Allowed, egress: Denied},
	})
}

func TestNP_IPBLOCK(t *testing.T) {
	block := func(cidr string, except ...string) []*networkingv1.NetworkPolicy {
		return ps(policy("y", "p", all, ingressRule(peers(ipPeer(cidr, except...)))))
	}
	egressBlock := ps(policy("x", "p", all, egressRule(peers(ipPeer("10.244.2.0/24")))))
	runCells(t, []cellCase{
		{name: "pod IP inside cidr", policies: block("10.244.1.0/24"), from: "x/c", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseIPBlock},
		{name: "pod IP outside cidr", policies: block("10.244.1.0/24"), from: "x/b", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "pod IP in except", policies: block("10.244.1.0/24", "10.244.1.10/32"), from: "x/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "pod IP next to except", policies: block("10.244.1.0/24", "10.244.1.10/32"), from: "x/c", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "/32 cidr is exactly one address", policies: block("10.244.1.12/32"), from: "x/c", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "/32 cidr, neighbour address", policies: block("10.244.1.12/32"), from: "x/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "last address of cidr", policies: block("10.244.1.0/28"), from: "x/c", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "first address after cidr", policies: block("10.244.1.0/28"), from: "z/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "except range first address", policies: block("10.244.1.0/24", "10.244.1.12/30"), from: "x/c", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "except range: address below it", policies: block("10.244.1.0/24", "10.244.1.12/30"), from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "except range: address above it", policies: block("10.244.1.0/24", "10.244.1.12/30"), from: "z/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "non-canonical cidr is masked", policies: block("10.244.1.77/24"), from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "IPv6 block never matches an IPv4 pod", policies: block("::/0"), from: "x/a", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "egress to a pod IP inside the block", policies: egressBlock, from: "x/a", to: "y/a", ingress: Allowed, egress: Allowed},
		{name: "egress to a pod IP outside the block", policies: egressBlock, from: "x/a", to: "y/b", ingress: Allowed, egress: Denied},
		{name: "external source inside the block", policies: block("192.0.2.0/24"), from: "192.0.2.7", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "external source outside the block", policies: block("192.0.2.0/24"), from: "198.51.100.1", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "external source is matched by no selector", policies: ps(policy("y", "p", all, ingressRule(peers(nsPeer(all))))), from: "192.0.2.7", to: "y/b", ingress: Denied, egress: Allowed},
	})
	t.Run("invalid", func(t *testing.T) {
		for name, c := range map[string]struct {
			peer  networkingv1.NetworkPolicyPeer
			field string
		}{
			"except equal to cidr":   {ipPeer("10.244.1.0/24", "10.244.1.0/24"), "except[0]"},
			"except outside cidr":    {ipPeer("10.244.1.0/24", "10.244.2.0/25"), "except[0]"},
			"except wider than cidr": {ipPeer("10.244.1.0/24", "10.244.0.0/16"), "except[0]"},
			"except other family":    {ipPeer("10.244.1.0/24", "fd00::/64"), "except[0]"},
			"invalid cidr":           {ipPeer("10.244.1.0/33"), "cidr"},
			"cidr not an address":    {ipPeer("banana"), "cidr"},
			"invalid except":         {ipPeer("10.0.0.0/8", "10.1.0.0/99"), "except[0]"},
			"ipBlock with selector":  {networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: all}, "from[0]"},
			"empty peer":             {networkingv1.NetworkPolicyPeer{}, "from[0]"},
		} {
			t.Run(name, func(t *testing.T) {
				expectInvalid(t, policy("y", "bad-block", all, ingressRule(peers(c.peer))), c.field)
			})
		}
	})
}

func TestNP_PORT(t *testing.T) {
	rng := func(p, e int32) []*networkingv1.NetworkPolicy {
		return ps(policy("y", "p", all, ingressRule(nil, rangePort(tcp, p, e))))
	}
	cell := func(name string, pols []*networkingv1.NetworkPolicy, port int32, proto corev1.Protocol, want Decision) cellCase {
		return cellCase{name: name, policies: pols, from: "x/a", to: "y/b", port: port, proto: proto, ingress: want, egress: Allowed, clause: ClauseIso}
	}
	runCells(t, []cellCase{
		cell("numeric port", ps(policy("y", "p", all, ingressRule(nil, numPort(tcp, 80)))), 80, tcp, Allowed),
		cell("numeric port, other number", ps(policy("y", "p", all, ingressRule(nil, numPort(tcp, 80)))), 81, tcp, Denied),
		cell("numeric port, other protocol", ps(policy("y", "p", all, ingressRule(nil, numPort(tcp, 80)))), 80, udp, Denied),
		cell("protocol defaults to TCP", ps(policy("y", "p", all, ingressRule(nil, numPort("", 80)))), 80, tcp, Allowed),
		cell("protocol defaults to TCP, not UDP", ps(policy("y", "p", all, ingressRule(nil, numPort("", 80)))), 80, udp, Denied),
		cell("protocol defaults to TCP, not SCTP", ps(policy("y", "p", all, ingressRule(nil, numPort("", 80)))), 80, sct, Denied),
		cell("SCTP port", ps(policy("y", "p", all, ingressRule(nil, numPort(sct, 81)))), 81, sct, Allowed),
		cell("endPort: port itself", rng(79, 80), 79, tcp, Allowed),
		cell("endPort: port == endPort included", rng(79, 80), 80, tcp, Allowed),
		cell("endPort: endPort+1 excluded", rng(79, 80), 81, tcp, Denied),
		cell("endPort: port-1 excluded", rng(81, 90), 80, tcp, Denied),
		cell("endPort equal to port", rng(81, 81), 81, tcp, Allowed),
		cell("endPort equal to port, next", rng(81, 81), 82, tcp, Denied),
		cell("only a protocol: every port of it", ps(policy("y", "p", all, ingressRule(nil, protoOnly(udp)))), 81, udp, Allowed),
		cell("only a protocol: not other protocols", ps(policy("y", "p", all, ingressRule(nil, protoOnly(udp)))), 81, tcp, Denied),
		cell("empty port entry: every TCP port", ps(policy("y", "p", all, ingressRule(nil, networkingv1.NetworkPolicyPort{}))), 8080, tcp, Allowed),
		cell("empty port entry: not UDP", ps(policy("y", "p", all, ingressRule(nil, networkingv1.NetworkPolicyPort{}))), 80, udp, Denied),
		cell("second port entry matches", ps(policy("y", "p", all, ingressRule(nil, numPort(tcp, 80), numPort(udp, 81)))), 81, udp, Allowed),
	})
	t.Run("invalid", func(t *testing.T) {
		endOnly := networkingv1.NetworkPolicyPort{EndPort: new(int32(90))}
		for name, c := range map[string]struct {
			port  networkingv1.NetworkPolicyPort
			field string
		}{
			"endPort without port": {endOnly, "port"},
			"endPort below port":   {rangePort(tcp, 81, 80), "endPort"},
			"endPort on named port": {func() networkingv1.NetworkPolicyPort {
				p := namedPort(tcp, "web")
				p.EndPort = new(int32(90))
				return p
			}(), "endPort"},
			"bad protocol":        {numPort("ICMP", 80), "protocol"},
			"lower-case protocol": {numPort("tcp", 80), "protocol"},
			"port 0":              {numPort(tcp, 0), "port"},
			"port too large":      {numPort(tcp, 70000), "port"},
			"invalid port name":   {namedPort(tcp, "Not_A_Name"), "port"},
		} {
			t.Run(name, func(t *testing.T) {
				expectInvalid(t, policy("y", "bad-port", all, ingressRule(nil, c.port)), c.field)
			})
		}
	})
}

// namedTopology gives the same port name different numbers on different
// pods: x/a serves "web" on 8080, y/b on 80; y/c has no "web" at all.
func namedTopology() *Topology {
	topo := DefaultTopology()
	for i := range topo.Pods {
		p := &topo.Pods[i]
		switch p.Ref().String() {
		case "x/a":
			p.Ports = append(p.Ports, ContainerPort{Name: "web", Port: 8080, Protocol: tcp}, ContainerPort{Name: "dns", Port: 53, Protocol: udp})
		case "y/b":
			p.Ports = append(p.Ports, ContainerPort{Name: "web", Port: 80, Protocol: tcp}, ContainerPort{Name: "dns", Port: 5353, Protocol: udp})
		case "z/b":
			p.Ports = append(p.Ports, ContainerPort{Name: "web", Port: 8080, Protocol: tcp})
		}
	}
	return topo
}

func TestNP_NAMED(t *testing.T) {
	topo := namedTopology()
	inWeb := ps(policy("y", "p", all, ingressRule(nil, namedPort(tcp, "web"))))
	outWeb := ps(policy("x", "p", all, egressRule(nil, namedPort(tcp, "web"))))
	runCells(t, []cellCase{
		{name: "ingress resolves on the selected destination", topo: topo, policies: inWeb, from: "x/a", to: "y/b", port: 80, ingress: Allowed, egress: Allowed, clause: ClauseNamed},
		{name: "ingress does not resolve on the source", topo: topo, policies: inWeb, from: "x/a", to: "y/b", port: 8080, ingress: Denied, egress: Allowed},
		{name: "ingress: destination without the name", topo: topo, policies: inWeb, from: "x/a", to: "y/c", port: 80, ingress: Denied, egress: Allowed},
		{name: "egress resolves on the peer", topo: topo, policies: outWeb, from: "x/a", to: "y/b", port: 80, ingress: Allowed, egress: Allowed, clause: ClauseNamed},
		{name: "egress does not resolve on the selected source", topo: topo, policies: outWeb, from: "x/a", to: "y/b", port: 8080, ingress: Allowed, egress: Denied},
		{name: "egress to another pod with the name", topo: topo, policies: outWeb, from: "x/a", to: "z/b", port: 8080, ingress: Allowed, egress: Allowed},
		{name: "egress to a peer without the name", topo: topo, policies: outWeb, from: "x/a", to: "z/c", port: 8080, ingress: Allowed, egress: Denied},
		{name: "protocol must match the container port", topo: topo, policies: ps(policy("y", "p", all, ingressRule(nil, namedPort(udp, "web")))), from: "x/a", to: "y/b", port: 80, proto: udp, ingress: Denied, egress: Allowed},
		{name: "named port with wrong protocol does not open TCP", topo: topo, policies: ps(policy("y", "p", all, ingressRule(nil, namedPort(udp, "web")))), from: "x/a", to: "y/b", port: 80, proto: tcp, ingress: Denied, egress: Allowed},
		{name: "UDP name on the destination", topo: topo, policies: ps(policy("y", "p", all, ingressRule(nil, namedPort(udp, "dns")))), from: "x/a", to: "y/b", port: 5353, proto: udp, ingress: Allowed, egress: Allowed},
		{name: "named port without protocol is TCP", topo: topo, policies: ps(policy("y", "p", all, ingressRule(nil, namedPort("", "dns")))), from: "x/a", to: "y/b", port: 5353, proto: udp, ingress: Denied, egress: Allowed},
		{name: "default topology name serve-81-udp", policies: ps(policy("y", "p", all, ingressRule(nil, namedPort(udp, "serve-81-udp")))), from: "x/a", to: "y/b", port: 81, proto: udp, ingress: Allowed, egress: Allowed},
		{name: "serve-81-udp does not open 81/TCP", policies: ps(policy("y", "p", all, ingressRule(nil, namedPort(udp, "serve-81-udp")))), from: "x/a", to: "y/b", port: 81, proto: tcp, ingress: Denied, egress: Allowed},
	})
}

// selectorTopology labels pods with tier and env in various combinations.
func selectorTopology() *Topology {
	topo := DefaultTopology()
	extra := map[string]map[string]string{
		"x/a": {"tier": "web", "env": "prod"},
		"x/b": {"tier": "db", "env": "prod"},
		"x/c": {"env": "dev"},
	}
	for i := range topo.Pods {
		for k, v := range extra[topo.Pods[i].Ref().String()] {
			topo.Pods[i].Labels[k] = v
		}
	}
	return topo
}

func TestNP_SELECTOR(t *testing.T) {
	topo := selectorTopology()
	from := func(sel *metav1.LabelSelector) []*networkingv1.NetworkPolicy {
		return ps(policy("y", "p", all, ingressRule(peers(andPeer(sel, labelsSel("ns", "x"))))))
	}
	both := &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"db"}}}}
	cell := func(name string, pols []*networkingv1.NetworkPolicy, src string, want Decision) cellCase {
		return cellCase{name: name, topo: topo, policies: pols, from: src, to: "y/b", ingress: want, egress: Allowed}
	}
	runCells(t, []cellCase{
		cell("In matches", from(expr("tier", metav1.LabelSelectorOpIn, "web", "db")), "x/b", Allowed),
		cell("In: key absent", from(expr("tier", metav1.LabelSelectorOpIn, "web", "db")), "x/c", Denied),
		cell("NotIn: other value", from(expr("tier", metav1.LabelSelectorOpNotIn, "web")), "x/b", Allowed),
		cell("NotIn: listed value", from(expr("tier", metav1.LabelSelectorOpNotIn, "web")), "x/a", Denied),
		cell("NotIn: key absent matches", from(expr("tier", metav1.LabelSelectorOpNotIn, "web")), "x/c", Allowed),
		cell("Exists", from(expr("tier", metav1.LabelSelectorOpExists)), "x/a", Allowed),
		cell("Exists: key absent", from(expr("tier", metav1.LabelSelectorOpExists)), "x/c", Denied),
		cell("DoesNotExist", from(expr("tier", metav1.LabelSelectorOpDoesNotExist)), "x/c", Allowed),
		cell("DoesNotExist: key present", from(expr("tier", metav1.LabelSelectorOpDoesNotExist)), "x/a", Denied),
		cell("matchLabels and matchExpressions both hold", from(both), "x/b", Allowed),
		cell("matchLabels holds, expression does not", from(both), "x/a", Denied),
		cell("{} matches all", from(all), "x/c", Allowed),
		cell("namespace NotIn", ps(policy("y", "p", all, ingressRule(peers(nsPeer(expr(NamespaceNameLabel, metav1.LabelSelectorOpNotIn, "x", "y")))))), "z/a", Allowed),
		cell("namespace NotIn: excluded", ps(policy("y", "p", all, ingressRule(peers(nsPeer(expr(NamespaceNameLabel, metav1.LabelSelectorOpNotIn, "x", "y")))))), "x/a", Denied),
		{name: "policy podSelector with expressions picks the target", topo: topo, policies: ps(policy("x", "p", expr("tier", metav1.LabelSelectorOpExists))), from: "y/a", to: "x/c", ingress: Allowed, egress: Allowed},
		{name: "policy podSelector with expressions isolates the target", topo: topo, policies: ps(policy("x", "p", expr("tier", metav1.LabelSelectorOpExists))), from: "y/a", to: "x/a", ingress: Denied, egress: Allowed, clause: ClauseIso},
	})
	t.Run("invalid", func(t *testing.T) {
		for name, sel := range map[string]*metav1.LabelSelector{
			"unknown operator":    expr("tier", "Near", "web"),
			"In without values":   expr("tier", metav1.LabelSelectorOpIn),
			"Exists with values":  expr("tier", metav1.LabelSelectorOpExists, "web"),
			"invalid label key":   labelsSel("bad key", "x"),
			"invalid label value": labelsSel("tier", "not a value!"),
		} {
			t.Run(name, func(t *testing.T) {
				expectInvalid(t, policy("y", "bad-selector", all, ingressRule(peers(podPeer(sel)))), "podSelector")
			})
		}
	})
}

// hostTopology adds hostNetwork pods: x/h on node-2, z/h on node-1.
func hostTopology() *Topology {
	topo := DefaultTopology()
	topo.Pods = append(topo.Pods,
		Pod{Namespace: "x", Name: "h", Labels: map[string]string{"pod": "h"}, Node: "node-2", HostNetwork: true, Ports: topo.Pods[0].Ports},
		Pod{Namespace: "z", Name: "h", Labels: map[string]string{"pod": "h"}, Node: "node-1", HostNetwork: true, Ports: topo.Pods[0].Ports})
	return topo
}

func TestNP_NODE(t *testing.T) {
	runCells(t, []cellCase{
		{name: "own node to pod is allowed despite isolation", policies: ps(denyInY), from: "172.18.0.2", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseNode},
		{name: "another node is not", policies: ps(denyInY), from: "172.18.0.3", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "another node by ipBlock", policies: ps(policy("y", "p", all, ingressRule(peers(ipPeer("172.18.0.0/16"))))), from: "172.18.0.3", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "pod to a node address is implementation-defined", topo: hostTopology(), policies: ps(denyOutX), from: "x/a", to: "z/h", ingress: Allowed, egress: Undefined, clause: ClauseNode},
		{name: "pod to a node address admitted by ipBlock", topo: hostTopology(), policies: ps(policy("x", "p", all, egressRule(peers(ipPeer("172.18.0.2/32"))))), from: "x/a", to: "z/h", ingress: Allowed, egress: Allowed},
		{name: "pod to a node address, not isolated", topo: hostTopology(), from: "x/a", to: "z/h", ingress: Allowed, egress: Allowed},
		{name: "hostNetwork pod on the destination node", topo: hostTopology(), policies: ps(denyInY), from: "z/h", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseNode},
	})
}

func TestNP_SELF(t *testing.T) {
	both := ps(policy("y", "p", all, types(in, out)))
	runCells(t, []cellCase{
		{name: "isolated both ways, to itself", policies: both, from: "y/b", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseSelf},
		{name: "to itself by its own IP", policies: both, from: "10.244.1.14", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseSelf},
		{name: "to a neighbour is denied", policies: both, from: "y/a", to: "y/b", ingress: Denied, egress: Denied},
		{name: "by the IP of a neighbour pod", policies: both, from: "10.244.2.13", to: "y/b", ingress: Denied, egress: Denied},
	})
}

func TestNP_HOSTNET(t *testing.T) {
	topo := hostTopology()
	fromAllNS := ps(policy("y", "p", all, ingressRule(peers(nsPeer(all)))))
	runCells(t, []cellCase{
		{name: "never selected as a target", topo: topo, policies: ps(policy("x", "deny", all, types(in, out))), from: "y/a", to: "x/h", ingress: Allowed, egress: Allowed, clause: ClauseHostNet},
		{name: "its egress is never isolated", topo: topo, policies: ps(policy("x", "deny", all, types(in, out))), from: "x/h", to: "y/b", ingress: Allowed, egress: Allowed, clause: ClauseHostNet},
		{name: "as a selector peer: implementation-defined", topo: topo, policies: fromAllNS, from: "x/h", to: "y/b", ingress: Undefined, egress: Allowed, clause: ClauseHostNet},
		{name: "as a pod peer: implementation-defined", topo: topo, policies: ps(policy("x", "p", labelsSel("pod", "a"), ingressRule(peers(podPeer(labelsSel("pod", "h")))))), from: "x/h", to: "x/a", ingress: Undefined, egress: Allowed},
		{name: "no peer could match: denied", topo: topo, policies: ps(policy("y", "p", all, ingressRule(peers(podPeer(all))))), from: "x/h", to: "y/b", ingress: Denied, egress: Allowed},
		{name: "ipBlock of its node address: allowed", topo: topo, policies: ps(policy("y", "p", all, ingressRule(peers(ipPeer("172.18.0.3/32"), nsPeer(all))))), from: "x/h", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "rule without peers: allowed", topo: topo, policies: ps(policy("y", "p", all, ingressRule(nil))), from: "x/h", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "egress to it through a selector", topo: topo, policies: ps(policy("y", "p", all, egressRule(peers(nsPeer(all))))), from: "y/b", to: "x/h", ingress: Allowed, egress: Undefined},
	})
}

// phaseTopology adds pods that selectors must not match: x/done (Succeeded),
// x/failed (Failed, keeps its IP), x/new (Pending, no IP) and x/starting
// (Pending with an IP, which selectors do match).
func phaseTopology() *Topology {
	topo := DefaultTopology()
	ports := topo.Pods[0].Ports
	topo.Pods = append(topo.Pods,
		Pod{Namespace: "x", Name: "done", Labels: map[string]string{"pod": "a"}, Node: "node-1", IP: "10.244.1.100", Phase: corev1.PodSucceeded, Ports: ports},
		Pod{Namespace: "x", Name: "failed", Labels: map[string]string{"pod": "a"}, Node: "node-1", IP: "10.244.1.101", Phase: corev1.PodFailed, Ports: ports},
		Pod{Namespace: "x", Name: "new", Labels: map[string]string{"pod": "a"}, Node: "node-1", Phase: corev1.PodPending, Ports: ports},
		Pod{Namespace: "x", Name: "starting", Labels: map[string]string{"pod": "a"}, Node: "node-1", IP: "10.244.1.102", Phase: corev1.PodPending, Ports: ports})
	return topo
}

func TestNP_PHASE(t *testing.T) {
	topo := phaseTopology()
	fromX := ps(policy("y", "p", all, ingressRule(peers(nsPeer(labelsSel("ns", "x"))))))
	toPodA := ps(policy("z", "p", all, egressRule(peers(andPeer(labelsSel("pod", "a"), all)))))
	runCells(t, []cellCase{
		{name: "Succeeded pod is no peer", topo: topo, policies: fromX, from: "x/done", to: "y/b", ingress: Denied, egress: Allowed, clause: ClausePhase},
		{name: "Failed pod is no peer", topo: topo, policies: fromX, from: "x/failed", to: "y/b", ingress: Denied, egress: Allowed, clause: ClausePhase},
		{name: "pod without IP is no peer", topo: topo, policies: fromX, from: "x/new", to: "y/b", ingress: Denied, egress: Allowed, clause: ClausePhase},
		{name: "Pending pod with an IP is a peer", topo: topo, policies: fromX, from: "x/starting", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "Running pod is a peer", topo: topo, policies: fromX, from: "x/a", to: "y/b", ingress: Allowed, egress: Allowed},
		{name: "egress to a Failed pod by selector", topo: topo, policies: toPodA, from: "z/a", to: "x/failed", ingress: Allowed, egress: Denied},
		{name: "egress to a Running pod by selector", topo: topo, policies: toPodA, from: "z/a", to: "x/a", ingress: Allowed, egress: Allowed},
		{name: "ipBlock still matches a Failed pod's IP", topo: topo, policies: ps(policy("y", "p", all, ingressRule(peers(ipPeer("10.244.1.101/32"))))), from: "x/failed", to: "y/b", ingress: Allowed, egress: Allowed},
	})
}
