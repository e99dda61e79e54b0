package shrink

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Size measures a case by counting the parts a reader has to take in:
// steps and their probes, actions, the rules, peers, ports, selector terms
// and except entries of their policies, and the namespaces, pods and
// container ports of the topology (the default one when the case leaves it
// nil, so writing it out is no growth). Every candidate is strictly smaller
// by this measure, which is why the search ends.
func Size(c cases.Case) int {
	n := topologySize(c.TopologyOrDefault())
	for _, s := range c.Steps {
		n += 1 + len(s.Probes)
		for _, a := range s.Actions {
			n += actionSize(a)
		}
	}
	return n
}

func topologySize(t *model.Topology) int {
	n := len(t.Namespaces)
	for _, p := range t.Pods {
		n += 1 + len(p.Ports)
	}
	return n
}

func actionSize(a cases.Action) int {
	switch a := a.(type) {
	case cases.CreatePolicy:
		return 1 + policySize(a.Policy)
	case cases.UpdatePolicy:
		return 1 + policySize(a.Policy)
	case cases.CreatePod:
		return 1 + len(a.Pod.Ports)
	}
	return 1
}

func policySize(np *networkingv1.NetworkPolicy) int {
	if np == nil {
		return 0
	}
	n := selectorTerms(&np.Spec.PodSelector)
	for _, r := range np.Spec.Ingress {
		n += ruleSize(r.From, r.Ports)
	}
	for _, r := range np.Spec.Egress {
		n += ruleSize(r.To, r.Ports)
	}
	return n
}

func ruleSize(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) int {
	n := 1 + len(ports)
	for _, p := range peers {
		n++
		if p.PodSelector != nil {
			n += 1 + selectorTerms(p.PodSelector)
		}
		if p.NamespaceSelector != nil {
			n += 1 + selectorTerms(p.NamespaceSelector)
		}
		if p.IPBlock != nil {
			n += 1 + len(p.IPBlock.Except)
		}
	}
	return n
}

func selectorTerms(s *metav1.LabelSelector) int {
	if s == nil {
		return 0
	}
	return len(s.MatchLabels) + len(s.MatchExpressions)
}
