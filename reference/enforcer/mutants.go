package enforcer

import (
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"
)

// Mutant names a deliberately broken variant of the enforcer: each one
// reproduces a bug that NetworkPolicy plugins have really shipped. Mutants
// exist only for the kill-rate test (suites/mutants), which proves that the
// case library notices every one of them; a library that lets a mutant pass
// would also pass a plugin with that bug. The enforcer binary never offers
// them. The zero value is the correct enforcer.
//
// Each mutant deviates at the one place of the render or controller code
// where the correct logic lives, in a block marked "Mutant" that leaves the
// correct path as it is; helpers that need more than a line live here.
type Mutant string

// The mutants, named after the bug they model.
const (
	// MutantIgnoreExcept drops ipBlock.except: the whole cidr is allowed.
	MutantIgnoreExcept Mutant = "ignore-except"
	// MutantIPBlockAsHost reads ipBlock.cidr as the host prefix (/32, /128)
	// of its address, as a plugin that parses it with net.ParseIP does.
	MutantIPBlockAsHost Mutant = "ipblock-as-host"
	// MutantSCTPAsTCP enforces port entries with protocol SCTP as TCP.
	MutantSCTPAsTCP Mutant = "sctp-as-tcp"
	// MutantSCTPPortIgnored drops the port of SCTP entries: every SCTP port is admitted.
	MutantSCTPPortIgnored Mutant = "sctp-port-ignored"
	// MutantProtocolOnlyAnyProtocol lets a port entry with a protocol and no
	// port admit every protocol, as if the entry were empty.
	MutantProtocolOnlyAnyProtocol Mutant = "protocol-only-any-protocol"
	// MutantEndPortOffByOne treats endPort as exclusive: the last port of a range is denied.
	MutantEndPortOffByOne Mutant = "endport-off-by-one"
	// MutantNamedPortsDropped skips named ports; a rule left without ports then admits every port.
	MutantNamedPortsDropped Mutant = "named-ports-dropped"
	// MutantNamedPortOnSource resolves egress named ports against the selected
	// (source) pod instead of each destination pod.
	MutantNamedPortOnSource Mutant = "named-port-on-source"
	// MutantNamedPortAnyProtocol resolves a named port by name alone, ignoring the entry's protocol.
	MutantNamedPortAnyProtocol Mutant = "named-port-any-protocol"
	// MutantIgnoreEgress never isolates a pod for egress.
	MutantIgnoreEgress Mutant = "ignore-egress"
	// MutantUnsetTypesIngressOnly defaults unset policyTypes to Ingress alone,
	// even when the policy has egress rules (the API before egress existed).
	MutantUnsetTypesIngressOnly Mutant = "unset-types-ingress-only"
	// MutantUnsetTypesBoth defaults unset policyTypes to Ingress and Egress,
	// even when the policy has no egress rules.
	MutantUnsetTypesBoth Mutant = "unset-types-both"
	// MutantPodAndNamespaceAsOr matches a peer with podSelector and
	// namespaceSelector when either matches, not both.
	MutantPodAndNamespaceAsOr Mutant = "pod-and-namespace-as-or"
	// MutantEmptyNamespaceSelectorOwnNamespace reads namespaceSelector {} as
	// the policy's own namespace instead of every namespace.
	MutantEmptyNamespaceSelectorOwnNamespace Mutant = "empty-namespace-selector-own-namespace"
	// MutantNamespaceSelectorByName matches namespaceSelector against the
	// namespace's name label only, ignoring its other labels.
	MutantNamespaceSelectorByName Mutant = "namespace-selector-by-name"
	// MutantNotInAsIn evaluates a peer selector's NotIn expressions as In.
	MutantNotInAsIn Mutant = "notin-as-in"
	// MutantPodSelectorAllNamespaces lets a podSelector peer without
	// namespaceSelector match pods of every namespace, not only the policy's.
	MutantPodSelectorAllNamespaces Mutant = "pod-selector-all-namespaces"
	// MutantEmptyPeersMatchNothing reads an empty from/to list as no peer
	// instead of every peer.
	MutantEmptyPeersMatchNothing Mutant = "empty-peers-match-nothing"
	// MutantOnePolicyPerPod applies only the first policy (by name) that
	// selects a pod: the rules of the others are not added to it.
	MutantOnePolicyPerPod Mutant = "one-policy-per-pod"
	// MutantNoEstablished has no conntrack rule: replies of allowed
	// connections are judged as new traffic in the other direction.
	MutantNoEstablished Mutant = "no-established"
	// MutantSameNamespaceAllowed always admits traffic from pods of the
	// isolated pod's own namespace.
	MutantSameNamespaceAllowed Mutant = "same-namespace-allowed"
	// MutantAllNodesExempt exempts the node's whole subnet instead of the node
	// itself: every node reaches every isolated pod.
	MutantAllNodesExempt Mutant = "all-nodes-exempt"
	// MutantUDPIngressIgnored lets all UDP through isolated pods' ingress.
	MutantUDPIngressIgnored Mutant = "udp-ingress-ignored"
	// MutantDenyOnlyTCP denies only TCP at the end of pod chains: UDP and SCTP pass.
	MutantDenyOnlyTCP Mutant = "deny-only-tcp"
	// MutantIgnorePolicyDelete handles no policy delete event: a deleted
	// policy's rules stay until an unrelated event or the periodic resync.
	MutantIgnorePolicyDelete Mutant = "ignore-policy-delete"
	// MutantIgnorePodRelabel handles pod updates only when the pod's IP,
	// phase or node changed: rules stay stale after a relabel.
	MutantIgnorePodRelabel Mutant = "ignore-pod-relabel"
	// MutantIgnoreNamespaceRelabel handles no namespace update: rules stay
	// stale after a namespace relabel.
	MutantIgnoreNamespaceRelabel Mutant = "ignore-namespace-relabel"
	// MutantEnforceNothing isolates no pod at all. It is the one trivial
	// mutant, a control that the preflight must catch.
	MutantEnforceNothing Mutant = "enforce-nothing"
)

// Mutants lists every mutant, in the order of the constants.
func Mutants() []Mutant {
	return []Mutant{
		MutantIgnoreExcept, MutantIPBlockAsHost,
		MutantSCTPAsTCP, MutantSCTPPortIgnored, MutantProtocolOnlyAnyProtocol, MutantEndPortOffByOne,
		MutantNamedPortsDropped, MutantNamedPortOnSource, MutantNamedPortAnyProtocol,
		MutantIgnoreEgress, MutantUnsetTypesIngressOnly, MutantUnsetTypesBoth,
		MutantPodAndNamespaceAsOr, MutantEmptyNamespaceSelectorOwnNamespace, MutantNamespaceSelectorByName,
		MutantNotInAsIn, MutantPodSelectorAllNamespaces, MutantEmptyPeersMatchNothing, MutantOnePolicyPerPod,
		MutantNoEstablished, MutantSameNamespaceAllowed, MutantAllNodesExempt,
		MutantUDPIngressIgnored, MutantDenyOnlyTCP,
		MutantIgnorePolicyDelete, MutantIgnorePodRelabel, MutantIgnoreNamespaceRelabel,
		MutantEnforceNothing,
	}
}

// WithMutant makes the enforcer the given broken variant. It exists only for
// the kill-rate test (suites/mutants); cmd/enforcer does not expose it, and
// nothing else may use it.
func WithMutant(m Mutant) Option { return func(c *config) { c.mutant = m } }

// validate accepts the correct enforcer ("") and the known mutants.
func (m Mutant) validate() error {
	if m == "" || slices.Contains(Mutants(), m) {
		return nil
	}
	return fmt.Errorf("unknown mutant %q", m)
}

// inController reports whether the mutant lives in the controller (which
// events trigger a sync) rather than in Render: its rules are right, only
// late.
func (m Mutant) inController() bool {
	switch m {
	case MutantIgnorePolicyDelete, MutantIgnorePodRelabel, MutantIgnoreNamespaceRelabel:
		return true
	}
	return false
}

// dropsUpdate reports whether the mutant ignores this update event.
func (m Mutant) dropsUpdate(old, cur any) bool {
	switch m {
	case MutantIgnorePodRelabel:
		o, ok1 := old.(*corev1.Pod)
		c, ok2 := cur.(*corev1.Pod)
		return ok1 && ok2 && o.Status.PodIP == c.Status.PodIP && o.Status.Phase == c.Status.Phase && o.Spec.NodeName == c.Spec.NodeName
	case MutantIgnoreNamespaceRelabel:
		_, ok := cur.(*corev1.Namespace)
		return ok
	}
	return false
}

// dropsDelete reports whether the mutant ignores this delete event.
func (m Mutant) dropsDelete(obj any) bool {
	if m != MutantIgnorePolicyDelete {
		return false
	}
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	_, ok := obj.(*networkingv1.NetworkPolicy)
	return ok
}

// ipBlock returns the ipBlock as the mutant reads it.
func (m Mutant) ipBlock(block *networkingv1.IPBlock) *networkingv1.IPBlock {
	switch m {
	case MutantIgnoreExcept:
		return &networkingv1.IPBlock{CIDR: block.CIDR}
	case MutantIPBlockAsHost:
		cidr, err := netip.ParsePrefix(block.CIDR)
		if err != nil {
			return block
		}
		return &networkingv1.IPBlock{CIDR: hostPrefix(cidr.Addr()).String(), Except: block.Except}
	}
	return block
}

// mutantWithoutNamedPorts is the port list with its named entries skipped.
func mutantWithoutNamedPorts(ports []networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for _, p := range ports {
		if p.Port == nil || p.Port.Type != intstr.String {
			out = append(out, p)
		}
	}
	return out
}

// mutantNamedPortAnyProtocol finds a container port by name alone.
func mutantNamedPortAnyProtocol(p *corev1.Pod, name string) (int32, bool) {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == name && cp.ContainerPort > 0 {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// mutantNotInAsIn is the selector with every NotIn turned into In.
func mutantNotInAsIn(sel *metav1.LabelSelector) *metav1.LabelSelector {
	out := sel.DeepCopy()
	for i, e := range out.MatchExpressions {
		if e.Operator == metav1.LabelSelectorOpNotIn {
			out.MatchExpressions[i].Operator = metav1.LabelSelectorOpIn
		}
	}
	return out
}

// mutantEitherSelector expands a peer with both selectors as two peers.
func (v *clusterView) mutantEitherSelector(policyNamespace string, peer networkingv1.NetworkPolicyPeer) ([]*corev1.Pod, bool) {
	byPod, ok1 := v.peerPods(policyNamespace, networkingv1.NetworkPolicyPeer{PodSelector: peer.PodSelector})
	byNamespace, ok2 := v.peerPods(policyNamespace, networkingv1.NetworkPolicyPeer{NamespaceSelector: peer.NamespaceSelector})
	return append(byPod, byNamespace...), ok1 && ok2
}

// isEmptySelector reports whether sel is {} (matches everything).
func isEmptySelector(sel *metav1.LabelSelector) bool {
	return sel != nil && len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0
}

// mutantFirstPolicy keeps the first policy of a list.
func mutantFirstPolicy(list []*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	if len(list) > 1 {
		return list[:1]
	}
	return list
}

// mutantNodeSubnet is the subnet a node address sits in, as a plugin that
// exempts "the node network" sees it.
func mutantNodeSubnet(node netip.Addr) netip.Prefix {
	bits := 24
	if node.Is6() {
		bits = 64
	}
	return netip.PrefixFrom(node, bits).Masked()
}

// mutantSameNamespace returns RETURN lines for every pod of pod's namespace.
func mutantSameNamespace(view *clusterView, pod *corev1.Pod, family IPFamily) []string {
	var out []string
	for _, p := range view.podsByNamespace[pod.Namespace] {
		if ip, ok := addrOfFamily(view.podAddrs(p), family); ok && view.selectablePeer(p) {
			out = append(out, fmt.Sprintf("-s %s -j RETURN", hostPrefix(ip)))
		}
	}
	return out
}
