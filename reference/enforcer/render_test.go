package enforcer

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// Fixture builders: objects as a user would write them, with no API-server
// defaulting (no protocol, no policyTypes unless a case sets them).

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func servingPorts() []corev1.ContainerPort {
	return []corev1.ContainerPort{
		{Name: "serve-80-tcp", ContainerPort: 80, Protocol: corev1.ProtocolTCP},
		{Name: "serve-81-tcp", ContainerPort: 81},
		{Name: "serve-80-udp", ContainerPort: 80, Protocol: corev1.ProtocolUDP},
		{Name: "serve-80-sctp", ContainerPort: 80, Protocol: corev1.ProtocolSCTP},
	}
}

func pod(ns, name, node string, ips ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"pod": name}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Ports: servingPorts()}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for i, ip := range ips {
		if i == 0 {
			p.Status.PodIP = ip
		}
		p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
	}
	return p
}

func withPorts(p *corev1.Pod, ports ...corev1.ContainerPort) *corev1.Pod {
	p.Spec.Containers[0].Ports = ports
	return p
}

func policy(ns, name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

func selector(kv ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

func podPeer(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: selector(kv...)}
}

func nsPeer(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: selector(kv...)}
}

func port(n int, proto ...corev1.Protocol) networkingv1.NetworkPolicyPort {
	p := intstr.FromInt32(int32(n))
	np := networkingv1.NetworkPolicyPort{Port: &p}
	if len(proto) > 0 {
		np.Protocol = &proto[0]
	}
	return np
}

func namedPort(name string, proto ...corev1.Protocol) networkingv1.NetworkPolicyPort {
	p := intstr.FromString(name)
	np := networkingv1.NetworkPolicyPort{Port: &p}
	if len(proto) > 0 {
		np.Protocol = &proto[0]
	}
	return np
}

func types(t ...networkingv1.PolicyType) []networkingv1.PolicyType { return t }

const localNode = "node-1"

// baseSnapshot: namespaces x (team=blue), y (team=red), z; node-1 hosts x/a,
// x/b, y/b; node-2 hosts y/a, z/c.
func baseSnapshot(policies ...*networkingv1.NetworkPolicy) Snapshot {
	return Snapshot{
		NodeName: localNode,
		Node: &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: localNode},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "10.242.0.1"},
				{Type: corev1.NodeHostName, Address: localNode},
			}},
		},
		Namespaces: []*corev1.Namespace{
			namespace("x", map[string]string{"team": "blue"}),
			namespace("y", map[string]string{"team": "red"}),
			namespace("z", nil),
		},
		Pods: []*corev1.Pod{
			pod("x", "a", localNode, "10.244.1.10"),
			pod("x", "b", localNode, "10.244.1.11"),
			pod("y", "b", localNode, "10.244.1.12"),
			pod("y", "a", "node-2", "10.244.2.10"),
			pod("z", "c", "node-2", "10.244.2.11"),
		},
		Policies: policies,
	}
}

func TestRenderGolden(t *testing.T) {
	udp, sctp, tcp := corev1.ProtocolUDP, corev1.ProtocolSCTP, corev1.ProtocolTCP
	endPort := int32(90)
	cases := []struct {
		name   string // golden file name
		clause string
		snap   func() Snapshot
		opts   RenderOptions
	}{
		{"no-policies", "NP-ISO", func() Snapshot { return baseSnapshot() }, RenderOptions{}},
		{"default-deny-both", "NP-ISO NP-RULE", func() Snapshot {
			return baseSnapshot(policy("x", "deny-all", networkingv1.NetworkPolicySpec{
				PolicyTypes: types(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress),
			}))
		}, RenderOptions{}},
		{"default-deny-drop", "NP-ISO", func() Snapshot {
			return baseSnapshot(policy("x", "deny-all", networkingv1.NetworkPolicySpec{
				PolicyTypes: types(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress),
			}))
		}, RenderOptions{DenyAction: DenyDrop}},
		{"pod-selector", "NP-PEER-POD", func() Snapshot {
			return baseSnapshot(policy("x", "allow-from-b", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{podPeer("pod", "b")}}},
			}))
		}, RenderOptions{}},
		{"namespace-selector", "NP-PEER-NS NP-SELECTOR", func() Snapshot {
			return baseSnapshot(policy("x", "allow-from-red", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
					nsPeer("team", "red"),
					nsPeer(namespaceNameLabel, "z"),
				}}},
			}))
		}, RenderOptions{}},
		{"pod-and-namespace-selector", "NP-PEER-AND", func() Snapshot {
			return baseSnapshot(policy("x", "allow-a-from-any-ns", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
					{PodSelector: selector("pod", "a"), NamespaceSelector: selector()},
				}}},
			}))
		}, RenderOptions{}},
		{"named-ports", "NP-NAMED", func() Snapshot {
			s := baseSnapshot(
				policy("x", "ingress-named", networkingv1.NetworkPolicySpec{
					PodSelector: *selector("pod", "a"),
					Ingress: []networkingv1.NetworkPolicyIngressRule{{
						Ports: []networkingv1.NetworkPolicyPort{namedPort("serve-81-tcp"), namedPort("serve-80-udp", udp), namedPort("no-such-port")},
					}},
				}),
				policy("x", "egress-named", networkingv1.NetworkPolicySpec{
					PodSelector: *selector("pod", "b"),
					PolicyTypes: types(networkingv1.PolicyTypeEgress),
					Egress: []networkingv1.NetworkPolicyEgressRule{
						{To: []networkingv1.NetworkPolicyPeer{nsPeer("team", "red")}, Ports: []networkingv1.NetworkPolicyPort{namedPort("web")}},
						{Ports: []networkingv1.NetworkPolicyPort{namedPort("dns", udp)}},
					},
				}),
				// Only a named port that resolves nowhere: the rule renders as nothing.
				policy("y", "unresolvable", networkingv1.NetworkPolicySpec{
					PodSelector: *selector("pod", "b"),
					Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{namedPort("missing")}}},
				}),
			)
			// The same name means a different number on each destination pod.
			s.Pods[3] = withPorts(s.Pods[3], corev1.ContainerPort{Name: "web", ContainerPort: 8080}, corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: udp})
			s.Pods[2] = withPorts(s.Pods[2], corev1.ContainerPort{Name: "web", ContainerPort: 9090})
			return s
		}, RenderOptions{}},
		{"end-port", "NP-PORT", func() Snapshot {
			bad := int32(70)
			return baseSnapshot(policy("x", "ranges", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					Ports: []networkingv1.NetworkPolicyPort{
						func() networkingv1.NetworkPolicyPort { p := port(80); p.EndPort = &endPort; return p }(),
						func() networkingv1.NetworkPolicyPort { p := port(80, udp); p.EndPort = &bad; return p }(),
						{Protocol: &sctp},
					},
				}},
			}))
		}, RenderOptions{}},
		{"ipblock-except", "NP-IPBLOCK", func() Snapshot {
			return baseSnapshot(policy("x", "cidr", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
					{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/16", Except: []string{"10.244.2.0/24", "10.244.1.11/32"}}},
					{IPBlock: &networkingv1.IPBlock{CIDR: "fd00::/8", Except: []string{"fd00:1::/32"}}},
				}}},
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
					{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.2.11/32"}},
					{IPBlock: &networkingv1.IPBlock{CIDR: "not-a-cidr"}},
				}}},
			}))
		}, RenderOptions{}},
		{"udp-sctp", "NP-PORT", func() Snapshot {
			return baseSnapshot(policy("x", "protocols", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{nsPeer()},
					Ports: []networkingv1.NetworkPolicyPort{port(80, udp), port(80, sctp), port(81, tcp), port(81)},
				}},
			}))
		}, RenderOptions{}},
		{"egress-only", "NP-TYPES", func() Snapshot {
			return baseSnapshot(policy("x", "egress-to-y", networkingv1.NetworkPolicySpec{
				// policyTypes unset: Ingress always, Egress because rules exist.
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{nsPeer("team", "red")}, Ports: []networkingv1.NetworkPolicyPort{port(80)}}},
			}), policy("y", "egress-only", networkingv1.NetworkPolicySpec{
				PolicyTypes: types(networkingv1.PolicyTypeEgress),
			}))
		}, RenderOptions{}},
		{"pods-without-ip", "NP-PHASE", func() Snapshot {
			s := baseSnapshot(policy("x", "allow-x", networkingv1.NetworkPolicySpec{
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{nsPeer()}}},
			}))
			pending := pod("x", "pending", localNode)
			pending.Status.Phase = corev1.PodPending
			done := pod("y", "done", "node-2", "10.244.2.99")
			done.Status.Phase = corev1.PodSucceeded
			failedLocal := pod("x", "failed", localNode, "10.244.1.99")
			failedLocal.Status.Phase = corev1.PodFailed
			s.Pods = append(s.Pods, pending, done, failedLocal)
			return s
		}, RenderOptions{}},
		{"host-network-ignored", "NP-HOSTNET", func() Snapshot {
			s := baseSnapshot(policy("x", "allow-x", networkingv1.NetworkPolicySpec{
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{nsPeer()}}},
			}))
			local := pod("x", "hostnet-local", localNode, "10.242.0.1")
			local.Spec.HostNetwork = true
			remote := pod("y", "hostnet-remote", "node-2", "10.242.0.2")
			remote.Spec.HostNetwork = true
			s.Pods = append(s.Pods, local, remote)
			return s
		}, RenderOptions{}},
		{"multiport", "NP-PORT NP-RULE", func() Snapshot {
			end := int32(8080)
			return baseSnapshot(policy("x", "web", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{
					{
						From: []networkingv1.NetworkPolicyPeer{podPeer("pod", "b")},
						Ports: []networkingv1.NetworkPolicyPort{
							port(80), port(81, tcp), port(53, udp),
							func() networkingv1.NetworkPolicyPort { p := port(8000); p.EndPort = &end; return p }(),
							namedPort("serve-80-sctp", sctp), port(9, sctp),
						},
					},
					// A protocol with no port swallows that protocol's ports.
					{Ports: []networkingv1.NetworkPolicyPort{port(53, udp), {Protocol: &udp}, port(54, udp)}},
				},
			}))
		}, RenderOptions{}},
		{"ipv6-dual-stack", "NP-PEER-POD NP-IPBLOCK", func() Snapshot {
			s := baseSnapshot(policy("x", "dual", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				PolicyTypes: types(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{podPeer("pod", "b")}}},
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
					{IPBlock: &networkingv1.IPBlock{CIDR: "fd00:10:244::/48", Except: []string{"fd00:10:244:2::/64"}}},
				}}},
			}))
			s.Pods[0] = pod("x", "a", localNode, "10.244.1.10", "fd00:10:244:1::a")
			s.Pods[1] = pod("x", "b", localNode, "fd00:10:244:1::b", "10.244.1.11")
			s.Node.Status.Addresses = append(s.Node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00:10:242::1"})
			return s
		}, RenderOptions{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := renderForGolden(Render(tc.snap(), tc.opts))
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%s: %v (run with -update to create it)", tc.clause, err)
			}
			if got != string(want) {
				t.Errorf("%s: render differs from %s\n--- got ---\n%s", tc.clause, path, got)
			}
		})
	}
}

func renderForGolden(sets []Ruleset) string {
	var b strings.Builder
	for _, rs := range sets {
		b.WriteString("# " + rs.Family.String() + "\n")
		b.WriteString(rs.Payload(nil))
	}
	return b.String()
}
