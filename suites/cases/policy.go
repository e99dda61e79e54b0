package cases

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// The helpers below write NetworkPolicy objects the way a user writes YAML:
// nothing is defaulted. A field the case does not set stays unset, so the
// cases that rely on policyTypes or protocol defaulting (NP-TYPES, NP-PORT)
// really send the object without them.

// policyBuilder assembles one NetworkPolicy.
type policyBuilder struct {
	np *networkingv1.NetworkPolicy
}

// newPolicy starts a policy in namespace ns that selects target pods.
func newPolicy(ns, name string, target *metav1.LabelSelector) *policyBuilder {
	if target == nil {
		target = all()
	}
	return &policyBuilder{np: &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: *target},
	}}
}

// types sets spec.policyTypes as written; without a call it stays unset.
func (b *policyBuilder) types(types ...networkingv1.PolicyType) *policyBuilder {
	b.np.Spec.PolicyTypes = append([]networkingv1.PolicyType{}, types...)
	return b
}

// ingress sets spec.ingress; with no rules it is an empty, non-nil list.
func (b *policyBuilder) ingress(rules ...rule) *policyBuilder {
	b.np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
	for _, r := range rules {
		b.np.Spec.Ingress = append(b.np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: r.peers, Ports: r.ports})
	}
	return b
}

// egress sets spec.egress; with no rules it is an empty, non-nil list.
func (b *policyBuilder) egress(rules ...rule) *policyBuilder {
	b.np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
	for _, r := range rules {
		b.np.Spec.Egress = append(b.np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: r.peers, Ports: r.ports})
	}
	return b
}

func (b *policyBuilder) build() *networkingv1.NetworkPolicy { return b.np }

// Shorthands for the usual policyTypes values.
var (
	ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egressOnly  = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	bothTypes   = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
)

// denyIngress is the classic default-deny-ingress policy of namespace ns.
func denyIngress(ns, name string, target *metav1.LabelSelector) *networkingv1.NetworkPolicy {
	return newPolicy(ns, name, target).types(ingressOnly...).ingress().build()
}

// denyEgress isolates the target pods for egress and allows nothing.
func denyEgress(ns, name string, target *metav1.LabelSelector) *networkingv1.NetworkPolicy {
	return newPolicy(ns, name, target).types(egressOnly...).egress().build()
}

// denyAll isolates the target pods in both directions and allows nothing.
func denyAll(ns, name string, target *metav1.LabelSelector) *networkingv1.NetworkPolicy {
	return newPolicy(ns, name, target).types(bothTypes...).ingress().egress().build()
}

// rule is an ingress or egress rule before it knows its direction.
type rule struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

// anyPeer is a rule with no peers and no ports: it matches everything.
func anyPeer() rule { return rule{} }

// peers is a rule that lists peers; with none, the peer list stays absent.
func peers(p ...networkingv1.NetworkPolicyPeer) rule { return rule{peers: p} }

// on restricts the rule to the given ports.
func (r rule) on(ports ...networkingv1.NetworkPolicyPort) rule {
	r.ports = append(r.ports, ports...)
	return r
}

// onlyPorts is a rule with ports and no peer list.
func onlyPorts(ports ...networkingv1.NetworkPolicyPort) rule { return rule{ports: ports} }

// Selectors.

// all is the empty selector: every pod, or every namespace.
func all() *metav1.LabelSelector { return &metav1.LabelSelector{} }

// labelsSel is a matchLabels selector from key, value pairs.
func labelsSel(kv ...string) *metav1.LabelSelector {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("labelsSel needs key/value pairs, got %q", kv))
	}
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

// podSel selects pods labelled pod=<name>.
func podSel(name string) *metav1.LabelSelector { return labelsSel("pod", name) }

// nsNameSel selects a namespace by the label the API server sets on it.
func nsNameSel(ns string) *metav1.LabelSelector { return labelsSel(model.NamespaceNameLabel, ns) }

// exprSel is a selector with one matchExpressions requirement.
func exprSel(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

// Peers.

func podPeer(s *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: s}
}

func nsPeer(s *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: s}
}

// andPeer selects pods matching pod in namespaces matching ns (one peer).
func andPeer(ns, pod *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: ns, PodSelector: pod}
}

func ipPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

// Ports.

func protocolPtr(p corev1.Protocol) *corev1.Protocol { return &p }

func numPort(port int32) *intstr.IntOrString {
	v := intstr.FromInt32(port)
	return &v
}

// portNum is a numeric port with the protocol left unset (TCP by default).
func portNum(port int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Port: numPort(port)}
}

// portProto is a numeric port with an explicit protocol.
func portProto(proto corev1.Protocol, port int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: protocolPtr(proto), Port: numPort(port)}
}

func tcpPort(port int32) networkingv1.NetworkPolicyPort  { return portProto(corev1.ProtocolTCP, port) }
func udpPort(port int32) networkingv1.NetworkPolicyPort  { return portProto(corev1.ProtocolUDP, port) }
func sctpPort(port int32) networkingv1.NetworkPolicyPort { return portProto(corev1.ProtocolSCTP, port) }

// portRange is port..endPort on one protocol.
func portRange(proto corev1.Protocol, port, endPort int32) networkingv1.NetworkPolicyPort {
	p := portProto(proto, port)
	p.EndPort = &endPort
	return p
}

// protoOnly is a port entry with a protocol and no port: all ports of it.
func protoOnly(proto corev1.Protocol) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: protocolPtr(proto)}
}

// namedPort is a named port with the protocol left unset.
func namedPort(name string) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Port: &v}
}

// namedPortProto is a named port with an explicit protocol.
func namedPortProto(proto corev1.Protocol, name string) networkingv1.NetworkPolicyPort {
	p := namedPort(name)
	p.Protocol = protocolPtr(proto)
	return p
}

// Addresses for ipBlock peers: pods' addresses are the cluster's, so cases
// name the pods (PodCIDR) and the policy actions resolve them.

// PodIP returns the primary IP of a pod of the topology.
func PodIP(t *model.Topology, ref model.PodRef) (netip.Addr, error) {
	if t == nil {
		return netip.Addr{}, fmt.Errorf("pod %s: no topology", ref)
	}
	for _, p := range t.Pods {
		if p.Namespace == ref.Namespace && p.Name == ref.Name {
			if p.IP == "" {
				return netip.Addr{}, fmt.Errorf("pod %s has no IP yet", ref)
			}
			a, err := netip.ParseAddr(p.IP)
			if err != nil {
				return netip.Addr{}, fmt.Errorf("pod %s: IP %q: %w", ref, p.IP, err)
			}
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("pod %s is not in the topology", ref)
}

// hostOf is the placeholder for a pod's own address: /32 or /128.
func hostOf(ns, pod string) string {
	return HostPodCIDR(model.PodRef{Namespace: ns, Name: pod}).String()
}

// wideAround is the placeholder for a wide prefix around a pod's address,
// as upstream builds it: a /4 on IPv4, a /8 on IPv6, so it holds every pod
// of any usual pod CIDR.
func wideAround(ns, pod string) string {
	return PodCIDR{Pod: model.PodRef{Namespace: ns, Name: pod}, IPv4: 4, IPv6: 8}.String()
}
