package cases

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Feature labels are computed from what a case does, never typed by hand: a
// hand list drifts from the policies it describes, and a label filter such as
// "ipblock && !sctp" is only as good as the labels. derivedFeatures is every
// label DeriveFeatures can give, in the order it gives them; Features lists
// them after the hand-listed ones nothing can derive.
var derivedFeatures = []string{
	// The protocols the case probes.
	"tcp", "udp", "sctp",
	// What the policies contain.
	"ingress", "egress", "default-deny", "allow-all",
	"pod-selector", "namespace-selector", "match-expressions", "ipblock", "except",
	"ports", "named-port", "end-port", "protocol-isolation", "policy-types",
	// What the case does over time, and to which pods.
	"multiple-policies", "update", "delete", "pod-relabel", "namespace-relabel",
	"create-pod", "delete-pod", "host-network",
}

// DeriveFeatures computes a case's labels from its policies, actions,
// topology and probes:
//
//   - tcp, udp, sctp: the protocols the case probes (all the topology's
//     when a step lists no probes). Only probes count, not
//     the protocols rules name, so that "!sctp" skips exactly the cases that
//     need SCTP on the wire (a rule naming SCTP is protocol-isolation).
//   - ingress, egress: a policy isolates that direction (NP-TYPES, after
//     defaulting) or has rules for it, even rules its policyTypes ignore.
//   - default-deny: a policy isolates a direction and has no rule for it.
//   - allow-all: a rule of an isolated direction has no peers and no ports.
//   - pod-selector, namespace-selector, ipblock, except: a peer has one.
//   - match-expressions: any selector, target or peer, has matchExpressions.
//   - ports: a port entry by number (with or without endPort) or by protocol
//     alone; named-port: by name; end-port: with endPort.
//   - protocol-isolation: a rule's ports leave out a protocol the case
//     probes, so that protocol must stay blocked while another passes.
//   - policy-types: a policy leaves policyTypes unset, or has rules for a
//     direction its policyTypes leave out: what NP-TYPES infers or ignores
//     matters.
//   - multiple-policies: two policies are in force at once.
//   - update, delete: a policy is updated, deleted.
//   - pod-relabel, namespace-relabel, create-pod, delete-pod: those actions.
//   - host-network: a hostNetwork pod takes part (NP-HOSTNET).
func DeriveFeatures(c Case) []string {
	has := map[string]bool{}
	probed := map[corev1.Protocol]bool{}
	for _, s := range c.Steps {
		probes := s.Probes
		if len(probes) == 0 {
			// The runner probes every port of the topology then.
			probes = c.TopologyOrDefault().PortProtocols()
		}
		for _, pp := range probes {
			probed[pp.Protocol] = true
		}
	}
	for _, p := range c.TopologyOrDefault().Pods {
		has["host-network"] = has["host-network"] || p.HostNetwork
	}
	inForce := map[string]bool{}
	for _, s := range c.Steps {
		for _, a := range s.Actions {
			switch a := a.(type) {
			case CreatePolicy:
				if a.Policy != nil {
					policyFeatures(a.Policy, probed, has)
					inForce[model.PolicyKey(a.Policy)] = true
				}
			case UpdatePolicy:
				policyFeatures(a.Policy, probed, has)
				has["update"] = true
			case DeletePolicy:
				has["delete"] = true
				delete(inForce, a.Namespace+"/"+a.Name)
			case SetPodLabels:
				has["pod-relabel"] = true
			case SetNamespaceLabels:
				has["namespace-relabel"] = true
			case CreatePod:
				has["create-pod"] = true
				has["host-network"] = has["host-network"] || a.Pod.HostNetwork
			case DeletePod:
				has["delete-pod"] = true
			}
			has["multiple-policies"] = has["multiple-policies"] || len(inForce) > 1
		}
	}
	for proto := range probed {
		has[strings.ToLower(string(proto))] = true
	}
	var out []string
	for _, f := range derivedFeatures {
		if has[f] {
			out = append(out, f)
		}
	}
	return out
}

// policyFeatures marks what one policy contains.
func policyFeatures(np *networkingv1.NetworkPolicy, probed map[corev1.Protocol]bool, has map[string]bool) {
	if np == nil {
		return
	}
	spec := np.Spec
	isoIn, isoEg := model.EffectivePolicyTypes(np)
	// An empty section counts as absent: the API server cannot tell them
	// apart (the field is omitempty), so neither may a label.
	has["ingress"] = has["ingress"] || isoIn || len(spec.Ingress) > 0
	has["egress"] = has["egress"] || isoEg || len(spec.Egress) > 0
	if (isoIn && len(spec.Ingress) == 0) || (isoEg && len(spec.Egress) == 0) {
		has["default-deny"] = true
	}
	listed := func(t networkingv1.PolicyType) bool { return slices.Contains(spec.PolicyTypes, t) }
	if len(spec.PolicyTypes) == 0 ||
		(len(spec.Ingress) > 0 && !listed(networkingv1.PolicyTypeIngress)) ||
		(len(spec.Egress) > 0 && !listed(networkingv1.PolicyTypeEgress)) {
		has["policy-types"] = true
	}
	selector(&spec.PodSelector, has)
	rule := func(isolated bool, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) {
		if isolated && len(peers) == 0 && len(ports) == 0 {
			has["allow-all"] = true
		}
		for _, p := range peers {
			if p.PodSelector != nil {
				has["pod-selector"] = true
				selector(p.PodSelector, has)
			}
			if p.NamespaceSelector != nil {
				has["namespace-selector"] = true
				selector(p.NamespaceSelector, has)
			}
			if p.IPBlock != nil {
				has["ipblock"] = true
				has["except"] = has["except"] || len(p.IPBlock.Except) > 0
			}
		}
		named := map[corev1.Protocol]bool{}
		for _, p := range ports {
			switch {
			case p.Port == nil || p.Port.Type == intstr.Int:
				has["ports"] = true
			default:
				has["named-port"] = true
			}
			has["end-port"] = has["end-port"] || p.EndPort != nil
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			named[proto] = true
		}
		for proto := range probed {
			if len(ports) > 0 && !named[proto] {
				has["protocol-isolation"] = true
			}
		}
	}
	for _, r := range spec.Ingress {
		rule(isoIn, r.From, r.Ports)
	}
	for _, r := range spec.Egress {
		rule(isoEg, r.To, r.Ports)
	}
}

func selector(s *metav1.LabelSelector, has map[string]bool) {
	if len(s.MatchExpressions) > 0 {
		has["match-expressions"] = true
	}
}

// WithDerivedFeatures returns the case with Features set to its hand-listed
// labels (those DeriveFeatures cannot give, such as "upstream"), then the
// derived ones. Labels the derivation gives are never kept from the old
// list, so a stale hand label cannot survive a change of the case.
func WithDerivedFeatures(c Case) Case {
	var out []string
	for _, f := range c.Features {
		if !slices.Contains(derivedFeatures, f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	c.Features = append(out, DeriveFeatures(c)...)
	return c
}

// extraFeatures are the case's labels DeriveFeatures cannot give: the ones
// its YAML lists.
func extraFeatures(c Case) []string {
	var out []string
	for _, f := range c.Features {
		if !slices.Contains(derivedFeatures, f) {
			out = append(out, f)
		}
	}
	return out
}
