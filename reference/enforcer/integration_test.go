package enforcer

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/coreos/go-iptables/iptables"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
)

func basicPods() []podSpec {
	return []podSpec{{"x", "a", 0}, {"x", "b", 0}, {"y", "b", 0}, {"y", "a", 1}}
}

func TestEnforcerWithRealPackets(t *testing.T) {
	c := newTestCluster(t, "h4-it1-", basicPods())
	c.startEnforcers()
	udp, sctp := corev1.ProtocolUDP, corev1.ProtocolSCTP

	c.expect("NP-ISO no policies: everything connects", []cell{
		{"x/a", "x/b", 80, "tcp", "connected"},
		{"x/b", "x/a", 81, "udp", "connected"},
		{"y/a", "x/a", 80, "sctp", "connected"},
		{"x/a", "y/a", 81, "tcp", "connected"},
	})

	c.apply(policy("x", "deny-ingress", networkingv1.NetworkPolicySpec{}))
	c.expect("NP-ISO default deny ingress in x", []cell{
		{"x/b", "x/a", 80, "tcp", "rejected"},
		{"y/a", "x/a", 80, "udp", "rejected"},
		{"y/b", "x/b", 81, "sctp", "rejected"},
		{"x/a", "x/a", 80, "tcp", "connected"},    // NP-SELF
		{"node-1", "x/a", 80, "tcp", "connected"}, // NP-NODE: the pod's own node
		{"node-2", "x/a", 80, "tcp", "rejected"},  // another node is just a source
		{"x/a", "y/a", 80, "tcp", "connected"},    // egress not isolated
		{"x/a", "y/b", 80, "udp", "connected"},
	})

	c.apply(policy("x", "allow-red-80", networkingv1.NetworkPolicySpec{
		PodSelector: *selector("pod", "a"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{nsPeer("team", "red")},
			Ports: []networkingv1.NetworkPolicyPort{port(80)},
		}},
	}))
	c.expect("NP-PEER-NS NP-PORT allow red namespace on TCP 80", []cell{
		{"y/a", "x/a", 80, "tcp", "connected"},
		{"y/b", "x/a", 80, "tcp", "connected"},
		{"y/a", "x/a", 81, "tcp", "rejected"},
		{"y/a", "x/a", 80, "udp", "rejected"},
		{"y/a", "x/a", 80, "sctp", "rejected"},
		{"x/b", "x/a", 80, "tcp", "rejected"},
		{"y/a", "x/b", 80, "tcp", "rejected"},
	})

	// Update: the same policy now allows SCTP 81 (named) and UDP 80-81 (endPort).
	endPort := int32(81)
	c.apply(policy("x", "allow-red-80", networkingv1.NetworkPolicySpec{
		PodSelector: *selector("pod", "a"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{nsPeer("team", "red")},
			Ports: []networkingv1.NetworkPolicyPort{
				namedPort("serve-81-sctp", sctp),
				func() networkingv1.NetworkPolicyPort { p := port(80, udp); p.EndPort = &endPort; return p }(),
			},
		}},
	}))
	c.expect("NP-NAMED NP-PORT updated policy", []cell{
		{"y/a", "x/a", 81, "sctp", "connected"},
		{"y/a", "x/a", 80, "sctp", "rejected"},
		{"y/b", "x/a", 80, "udp", "connected"},
		{"y/b", "x/a", 81, "udp", "connected"},
		{"y/a", "x/a", 80, "tcp", "rejected"},
	})

	c.delete("x", "deny-ingress")
	c.delete("x", "allow-red-80")
	c.apply(policy("y", "egress-to-blue-udp", networkingv1.NetworkPolicySpec{
		PolicyTypes: types(networkingv1.PolicyTypeEgress),
		Egress: []networkingv1.NetworkPolicyEgressRule{{
			To: []networkingv1.NetworkPolicyPeer{
				{NamespaceSelector: selector("team", "blue"), PodSelector: selector("pod", "b")},
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/16", Except: []string{c.pods["x/a"].IP.String() + "/32"}}},
			},
			Ports: []networkingv1.NetworkPolicyPort{port(80, udp), port(81)},
		}},
	}))
	c.expect("NP-PEER-AND NP-IPBLOCK egress only", []cell{
		{"y/a", "x/b", 80, "udp", "connected"},
		{"y/a", "x/b", 80, "tcp", "rejected"},
		{"y/a", "x/a", 80, "udp", "rejected"}, // excepted from the block, not x/b
		{"y/a", "x/a", 81, "tcp", "rejected"},
		{"y/b", "y/a", 81, "tcp", "connected"}, // inside the ipBlock
		{"y/b", "x/b", 81, "sctp", "rejected"},
		{"x/a", "y/a", 80, "sctp", "connected"}, // x is not isolated
		{"x/b", "y/b", 80, "tcp", "connected"},
	})

	c.delete("y", "egress-to-blue-udp")
	c.expect("NP-ADD all policies deleted", []cell{
		{"y/a", "x/a", 80, "udp", "connected"},
		{"y/b", "x/b", 81, "sctp", "connected"},
		{"x/b", "x/a", 80, "tcp", "connected"},
	})

	// Stopping does not flush: the chains stay until an explicit cleanup.
	c.apply(policy("x", "deny-ingress", networkingv1.NetworkPolicySpec{}))
	c.expect("deny again before stopping", []cell{{"y/a", "x/a", 80, "tcp", "rejected"}})
	c.stopEnforcers()
	node1, _ := c.fab.Node(0)
	if saved := c.iptablesSave(node1); !strings.Contains(saved, "-A FORWARD -j NPC-FORWARD") {
		t.Fatalf("rules were flushed on shutdown:\n%s", saved)
	}
	c.expect("rules survive a stopped enforcer", []cell{{"y/a", "x/a", 80, "tcp", "rejected"}})
	for _, n := range c.fab.Nodes() {
		if err := Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(n.NetNS))); err != nil {
			t.Fatalf("Cleanup in %s: %v", n.NetNS, err)
		}
		if saved := c.iptablesSave(n); strings.Contains(saved, "NPC-") {
			t.Fatalf("Cleanup left chains in %s:\n%s", n.NetNS, saved)
		}
	}
	c.expect("cleanup restores open traffic", []cell{{"y/a", "x/a", 80, "tcp", "connected"}})
}

func TestEnforcerDropActionTimesOut(t *testing.T) {
	c := newTestCluster(t, "h4-it2-", []podSpec{{"x", "a", 0}, {"y", "a", 1}}, WithDenyAction(DenyDrop))
	c.startEnforcers()
	c.apply(policy("x", "deny-all", networkingv1.NetworkPolicySpec{
		PolicyTypes: types(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress),
	}))
	c.expect("NP-ISO drop", []cell{
		{"y/a", "x/a", 80, "tcp", "timeout"},
		{"x/a", "y/a", 80, "udp", "timeout"},
	})
	for _, n := range c.fab.Nodes() {
		c.t.Cleanup(func() { Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(n.NetNS))) })
	}
	// The packets died in our chain: its final DROP counted them.
	node, _ := c.fab.Node(0)
	chain := podChainName(DefaultChainPrefix, "I-", "x/a")
	var dropped uint64
	err := inNetNS(fabric.NetNSPath(node.NetNS), func() error {
		ipt, err := iptables.New(iptables.Path("iptables"))
		if err != nil {
			return err
		}
		stats, err := ipt.StructuredStats(filterTable, chain)
		if err != nil {
			return err
		}
		last := stats[len(stats)-1]
		if last.Target != "DROP" {
			return fmt.Errorf("last rule of %s is %s, want DROP", chain, last.Target)
		}
		dropped = last.Packets
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 {
		t.Fatalf("NP-ISO: the DROP rule of %s counted no packets", chain)
	}
}

func TestEnforcerDualStackWithRealPackets(t *testing.T) {
	c := newTestClusterWith(t, "h4-it8-", []fabric.Option{fabric.WithIPv6()}, basicPods())
	c.startEnforcers()
	for _, n := range c.fab.Nodes() {
		c.t.Cleanup(func() { Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(n.NetNS))) })
	}
	c.expect("NP-ISO IPv6 open before policies", []cell{
		{"y/a", "x/a", 80, "tcp6", "connected"},
		{"x/b", "x/a", 81, "udp6", "connected"},
	})
	c.apply(policy("x", "allow-red-tcp-80", networkingv1.NetworkPolicySpec{
		PodSelector: *selector("pod", "a"),
		PolicyTypes: types(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{nsPeer("team", "red")},
			Ports: []networkingv1.NetworkPolicyPort{port(80)},
		}},
		Egress: []networkingv1.NetworkPolicyEgressRule{{
			To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "fd00:10:244::/48", Except: []string{"fd00:10:244:2::/64"}}}},
		}},
	}))
	c.expect("NP-PEER-NS NP-IPBLOCK over both families", []cell{
		{"y/a", "x/a", 80, "tcp6", "connected"},
		{"y/a", "x/a", 80, "tcp", "connected"},
		{"y/a", "x/a", 81, "tcp6", "rejected"},
		{"x/b", "x/a", 80, "tcp6", "rejected"},
		{"x/b", "x/a", 80, "udp", "rejected"},
		{"y/b", "x/a", 80, "sctp6", "rejected"},
		{"x/a", "y/b", 81, "sctp6", "connected"},
		{"x/a", "x/b", 81, "udp6", "connected"},
		// Egress: the IPv6 block covers node-1's pods, not node-2's; IPv4 has no allowance.
		{"x/a", "y/b", 80, "tcp6", "connected"},
		{"x/a", "y/a", 80, "tcp6", "rejected"},
		{"x/a", "y/b", 80, "tcp", "rejected"},
	})
	c.stopEnforcers()
	for _, n := range c.fab.Nodes() {
		if err := Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(n.NetNS))); err != nil {
			t.Fatal(err)
		}
		if saved := c.iptablesSave(n); strings.Contains(saved, "NPC-") {
			t.Fatalf("Cleanup left chains in %s:\n%s", n.NetNS, saved)
		}
	}
}
