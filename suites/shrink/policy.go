package shrink

import (
	"fmt"
	"maps"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// cut is a policy with one part removed; what is the part's field path.
type cut struct {
	kind Kind
	what string
	np   *networkingv1.NetworkPolicy
}

// side is one direction of a policy's rules, so ingress and egress are cut
// by the same code.
type side struct {
	field, peersField string
	rules             func(p *networkingv1.NetworkPolicy) int
	drop              func(p *networkingv1.NetworkPolicy, i int)
	peers             func(p *networkingv1.NetworkPolicy, i int) *[]networkingv1.NetworkPolicyPeer
	ports             func(p *networkingv1.NetworkPolicy, i int) *[]networkingv1.NetworkPolicyPort
}

var sides = []side{
	{
		field: "ingress", peersField: "from",
		rules: func(p *networkingv1.NetworkPolicy) int { return len(p.Spec.Ingress) },
		drop:  func(p *networkingv1.NetworkPolicy, i int) { dropAt(&p.Spec.Ingress, i) },
		peers: func(p *networkingv1.NetworkPolicy, i int) *[]networkingv1.NetworkPolicyPeer {
			return &p.Spec.Ingress[i].From
		},
		ports: func(p *networkingv1.NetworkPolicy, i int) *[]networkingv1.NetworkPolicyPort {
			return &p.Spec.Ingress[i].Ports
		},
	},
	{
		field: "egress", peersField: "to",
		rules: func(p *networkingv1.NetworkPolicy) int { return len(p.Spec.Egress) },
		drop:  func(p *networkingv1.NetworkPolicy, i int) { dropAt(&p.Spec.Egress, i) },
		peers: func(p *networkingv1.NetworkPolicy, i int) *[]networkingv1.NetworkPolicyPeer {
			return &p.Spec.Egress[i].To
		},
		ports: func(p *networkingv1.NetworkPolicy, i int) *[]networkingv1.NetworkPolicyPort {
			return &p.Spec.Egress[i].Ports
		},
	},
}

// policyCuts lists the policy with each of its rules, peers, peer
// selectors, ports, selector terms and except entries removed, one at a
// time. Each cut is a deep copy; np is left as it was. Lists that a cut
// empties become absent, as a user would write the policy.
func policyCuts(np *networkingv1.NetworkPolicy) []cut {
	var out []cut
	edit := func(kind Kind, what string, f func(p *networkingv1.NetworkPolicy)) {
		p := np.DeepCopy()
		f(p)
		out = append(out, cut{kind: kind, what: what, np: p})
	}
	out = append(out, selectorCuts(np, "spec.podSelector", func(p *networkingv1.NetworkPolicy) *metav1.LabelSelector { return &p.Spec.PodSelector })...)
	for _, sd := range sides {
		for i := range sd.rules(np) {
			rule := fmt.Sprintf("spec.%s[%d]", sd.field, i)
			edit(DropRule, rule, func(p *networkingv1.NetworkPolicy) { sd.drop(p, i) })
			for j, peer := range *sd.peers(np, i) {
				at := fmt.Sprintf("%s.%s[%d]", rule, sd.peersField, j)
				peerOf := func(p *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicyPeer { return &(*sd.peers(p, i))[j] }
				edit(DropPeer, at, func(p *networkingv1.NetworkPolicy) { dropAt(sd.peers(p, i), j) })
				if peer.PodSelector != nil && peer.NamespaceSelector != nil {
					edit(DropPeerSelector, at+".podSelector", func(p *networkingv1.NetworkPolicy) { peerOf(p).PodSelector = nil })
					edit(DropPeerSelector, at+".namespaceSelector", func(p *networkingv1.NetworkPolicy) { peerOf(p).NamespaceSelector = nil })
				}
				out = append(out, selectorCuts(np, at+".podSelector", func(p *networkingv1.NetworkPolicy) *metav1.LabelSelector { return peerOf(p).PodSelector })...)
				out = append(out, selectorCuts(np, at+".namespaceSelector", func(p *networkingv1.NetworkPolicy) *metav1.LabelSelector { return peerOf(p).NamespaceSelector })...)
				if peer.IPBlock != nil {
					for k, e := range peer.IPBlock.Except {
						edit(DropExcept, fmt.Sprintf("%s.ipBlock.except[%d] %s", at, k, e), func(p *networkingv1.NetworkPolicy) { dropAt(&peerOf(p).IPBlock.Except, k) })
					}
				}
			}
			for j := range *sd.ports(np, i) {
				edit(DropPort, fmt.Sprintf("%s.ports[%d]", rule, j), func(p *networkingv1.NetworkPolicy) { dropAt(sd.ports(p, i), j) })
			}
		}
	}
	return out
}

// selectorCuts removes each matchLabels key and each matchExpressions
// requirement of the selector get finds (none when it is absent).
func selectorCuts(np *networkingv1.NetworkPolicy, path string, get func(*networkingv1.NetworkPolicy) *metav1.LabelSelector) []cut {
	s := get(np)
	if s == nil {
		return nil
	}
	var out []cut
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		p := np.DeepCopy()
		sel := get(p)
		delete(sel.MatchLabels, k)
		if len(sel.MatchLabels) == 0 {
			sel.MatchLabels = nil
		}
		out = append(out, cut{kind: DropSelectorTerm, what: path + ".matchLabels." + k, np: p})
	}
	for i, e := range s.MatchExpressions {
		p := np.DeepCopy()
		dropAt(&get(p).MatchExpressions, i)
		out = append(out, cut{kind: DropSelectorTerm, what: fmt.Sprintf("%s.matchExpressions[%d] (%s %s)", path, i, e.Key, e.Operator), np: p})
	}
	return out
}

// dropAt removes element i; a list it empties becomes absent.
func dropAt[T any](s *[]T, i int) {
	*s = slices.Delete(*s, i, i+1)
	if len(*s) == 0 {
		*s = nil
	}
}

// policyOf returns the policy a create or update action sends, and how to
// build the same kind of action around another policy; nil for actions
// without a policy.
func policyOf(a cases.Action) (*networkingv1.NetworkPolicy, func(*networkingv1.NetworkPolicy) cases.Action) {
	switch a := a.(type) {
	case cases.CreatePolicy:
		return a.Policy, func(np *networkingv1.NetworkPolicy) cases.Action { return cases.CreatePolicy{Policy: np} }
	case cases.UpdatePolicy:
		return a.Policy, func(np *networkingv1.NetworkPolicy) cases.Action { return cases.UpdatePolicy{Policy: np} }
	}
	return nil, nil
}
