package generate

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Policies are written as a user writes them: nothing is defaulted, so a
// case whose protocol or policyTypes is unset really sends it unset.

// rule is an ingress or egress rule before it knows its direction.
type rule struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

// newPolicy writes a policy of namespace ns selecting target, with
// policyTypes and rule sections as types says (see DimTypes); ingress and
// egress are the rules of each section it writes.
func newPolicy(ns, name string, target metav1.LabelSelector, types string, ingress, egress []rule) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: target},
	}
	in, eg := networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress
	switch types {
	case typesIngress, typesIngressIgnoringEgress:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{in}
	case typesEgress:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{eg}
	case typesBoth:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{in, eg}
	}
	writeIn, writeEg := sections(types)
	if writeIn {
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
		for _, r := range ingress {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: r.peers, Ports: r.ports})
		}
	}
	if writeEg {
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
		for _, r := range egress {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: r.peers, Ports: r.ports})
		}
	}
	// The sections may share rules, and policies their selectors: a copy
	// shares nothing, so whoever edits one (a shrinker) edits only it.
	return np.DeepCopy()
}

// sections says which rule sections a policy of a types value writes.
func sections(types string) (ingress, egress bool) {
	switch types {
	case typesEgress:
		return false, true
	case typesBoth, typesUnsetWithEgress, typesIngressIgnoringEgress:
		return true, true
	}
	return true, false
}

// directions are the effective policyTypes of a types value, as policyTypes.
func directions(types string) []networkingv1.PolicyType {
	switch types {
	case typesEgress:
		return []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case typesBoth, typesUnsetWithEgress:
		return []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	}
	return []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
}

// selector writes a label selector of the given form over key, with values
// for matchLabels, In and NotIn (the first one for matchLabels and NotIn).
func selector(form, key string, values ...string) *metav1.LabelSelector {
	req := func(op metav1.LabelSelectorOperator, vs ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: vs}}}
	}
	switch form {
	case formMatchLabels:
		return &metav1.LabelSelector{MatchLabels: map[string]string{key: values[0]}}
	case formIn:
		return req(metav1.LabelSelectorOpIn, values...)
	case formNotIn:
		return req(metav1.LabelSelectorOpNotIn, values[0])
	case formExists:
		return req(metav1.LabelSelectorOpExists)
	case formDoesNotExist:
		return req(metav1.LabelSelectorOpDoesNotExist)
	}
	return &metav1.LabelSelector{}
}

// hostOf is the placeholder for a pod's own address (/32 or /128).
func hostOf(ref model.PodRef) string { return cases.HostPodCIDR(ref).String() }

// wideAround is the placeholder for the /4 (IPv4) or /8 (IPv6) around a
// pod's address: wide enough to hold every pod of a usual pod range, so an
// except inside it is a strict subset on any cluster.
func wideAround(ref model.PodRef) string {
	return cases.PodCIDR{Pod: ref, IPv4: 4, IPv6: 8}.String()
}

func ipBlockPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

// portEntry writes one port entry of a form; proto nil leaves the
// protocol unset (TCP). number is the port (the first of a range, which
// ends at number+1); name is the named port's name.
func portEntry(form string, proto *corev1.Protocol, number int32, name string) networkingv1.NetworkPolicyPort {
	p := networkingv1.NetworkPolicyPort{Protocol: proto}
	switch form {
	case portNumber:
		v := intstr.FromInt32(number)
		p.Port = &v
	case portNamed:
		v := intstr.FromString(name)
		p.Port = &v
	case portRange:
		v, end := intstr.FromInt32(number), number+1
		p.Port, p.EndPort = &v, &end
	}
	return p
}

func protocolPtr(p corev1.Protocol) *corev1.Protocol { return &p }
