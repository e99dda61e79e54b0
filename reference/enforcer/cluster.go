package enforcer

import (
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// namespaceNameLabel is set on every namespace by the API server; objects that
// no API server touched (fake clientsets, YAML files) get it here, so
// selectors on it behave the same everywhere.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// clusterView indexes a Snapshot for rendering.
type clusterView struct {
	namespaceLabels map[string]labels.Set
	namespaceNames  []string                 // sorted
	podsByNamespace map[string][]*corev1.Pod // sorted by name
	policiesByNS    map[string][]*compiledPolicy
	addrs           map[*corev1.Pod][]netip.Addr
	peerCache       map[peerCacheKey]peerCacheEntry
	mutant          Mutant // kill-rate test only (WithMutant)
}

// compiledPolicy holds a policy with its target selector parsed once.
type compiledPolicy struct {
	np              *networkingv1.NetworkPolicy
	target          labels.Selector // nil: unparsable, selects every pod (fail closed)
	ingress, egress bool
}

// peerCacheKey names one rule's peer list expanded for one family; peers do
// not depend on the target pod, so the expansion is shared by all targets.
type peerCacheKey struct {
	policy *networkingv1.NetworkPolicy
	egress bool
	rule   int
	family IPFamily
}

type peerCacheEntry struct {
	prefixes []netip.Prefix
	ok       bool
}

func newClusterView(s Snapshot, m Mutant) *clusterView {
	v := &clusterView{
		mutant:          m,
		namespaceLabels: map[string]labels.Set{},
		podsByNamespace: map[string][]*corev1.Pod{},
		policiesByNS:    map[string][]*compiledPolicy{},
		addrs:           map[*corev1.Pod][]netip.Addr{},
		peerCache:       map[peerCacheKey]peerCacheEntry{},
	}
	for _, np := range s.Policies {
		cp := &compiledPolicy{np: np}
		if sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err == nil {
			cp.target = sel
		}
		cp.ingress, cp.egress = effectivePolicyTypes(np, m)
		v.policiesByNS[np.Namespace] = append(v.policiesByNS[np.Namespace], cp)
	}
	for ns, list := range v.policiesByNS {
		sort.Slice(list, func(i, j int) bool { return list[i].np.Name < list[j].np.Name })
		v.policiesByNS[ns] = list
	}
	for _, ns := range s.Namespaces {
		set := labels.Set{}
		for k, val := range ns.Labels {
			set[k] = val
		}
		set[namespaceNameLabel] = ns.Name
		v.namespaceLabels[ns.Name] = set
	}
	for _, p := range s.Pods {
		v.addrs[p] = podIPs(p)
		v.podsByNamespace[p.Namespace] = append(v.podsByNamespace[p.Namespace], p)
		if _, known := v.namespaceLabels[p.Namespace]; !known {
			// A pod whose namespace object is not (yet) cached still lives in
			// a namespace that carries at least its name label.
			v.namespaceLabels[p.Namespace] = labels.Set{namespaceNameLabel: p.Namespace}
		}
	}
	for name, pods := range v.podsByNamespace {
		sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
		v.podsByNamespace[name] = pods
	}
	for name := range v.namespaceLabels {
		v.namespaceNames = append(v.namespaceNames, name)
	}
	sort.Strings(v.namespaceNames)
	return v
}

// podIPs returns the pod's addresses, from status.podIPs or else status.podIP.
func podIPs(p *corev1.Pod) []netip.Addr {
	var out []netip.Addr
	add := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil {
			a = a.Unmap()
			for _, have := range out {
				if have == a {
					return
				}
			}
			out = append(out, a)
		}
	}
	for _, ip := range p.Status.PodIPs {
		add(ip.IP)
	}
	add(p.Status.PodIP)
	return out
}

func podFinished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// isSelectablePeer: pods without an IP, finished pods and hostNetwork pods are
// never peers by selector (their IP is not theirs, or not anyone's).
func isSelectablePeer(p *corev1.Pod) bool {
	return !p.Spec.HostNetwork && !podFinished(p) && len(podIPs(p)) > 0
}

// selectablePeer is isSelectablePeer with the cached addresses.
func (v *clusterView) selectablePeer(p *corev1.Pod) bool {
	return !p.Spec.HostNetwork && !podFinished(p) && len(v.podAddrs(p)) > 0
}

// isTarget: hostNetwork pods are never isolated; pods with no IP have nothing
// to match; finished pods carry no traffic.
func isTarget(p *corev1.Pod) bool {
	return isSelectablePeer(p)
}

// effectivePolicyTypes applies the API defaulting: as written when set, else
// Ingress, plus Egress when egress rules exist.
func effectivePolicyTypes(np *networkingv1.NetworkPolicy, m Mutant) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		// Mutants (kill-rate test only): wrong defaulting.
		switch m {
		case MutantUnsetTypesIngressOnly:
			return true, false
		case MutantUnsetTypesBoth:
			return true, true
		}
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// selectorMatcher converts a label selector. A nil selector in a peer means
// "not set" and is handled by the caller; here nil matches nothing.
func selectorMatcher(sel *metav1.LabelSelector, m Mutant) (labels.Selector, error) {
	if sel == nil {
		return labels.Nothing(), nil
	}
	if m == MutantNotInAsIn {
		sel = mutantNotInAsIn(sel) // Mutant (kill-rate test only).
	}
	return metav1.LabelSelectorAsSelector(sel)
}

// selects reports whether the policy selects the pod as a target. An
// unparsable podSelector selects every pod of the namespace, so the pod is
// isolated with no allowance from this policy: fail closed.
func (cp *compiledPolicy) selects(p *corev1.Pod) bool {
	if cp.np.Namespace != p.Namespace {
		return false
	}
	return cp.target == nil || cp.target.Matches(labels.Set(p.Labels))
}

// podAddrs returns the pod's parsed IPs (cached).
func (v *clusterView) podAddrs(p *corev1.Pod) []netip.Addr {
	if a, ok := v.addrs[p]; ok {
		return a
	}
	return podIPs(p)
}

// peerPods expands a selector-based peer to the selectable pods it matches.
// ok is false when a selector cannot be parsed (the peer then renders as
// nothing).
func (v *clusterView) peerPods(policyNamespace string, peer networkingv1.NetworkPolicyPeer) (pods []*corev1.Pod, ok bool) {
	if v.mutant == MutantPodAndNamespaceAsOr && peer.PodSelector != nil && peer.NamespaceSelector != nil {
		return v.mutantEitherSelector(policyNamespace, peer) // Mutant (kill-rate test only).
	}
	var namespaces []string
	if peer.NamespaceSelector == nil {
		namespaces = []string{policyNamespace}
		if v.mutant == MutantPodSelectorAllNamespaces {
			namespaces = v.namespaceNames // Mutant (kill-rate test only).
		}
	} else {
		nsSel, err := selectorMatcher(peer.NamespaceSelector, v.mutant)
		if err != nil {
			return nil, false
		}
		for _, name := range v.namespaceNames {
			nsLabels := v.namespaceLabels[name]
			if v.mutant == MutantNamespaceSelectorByName {
				nsLabels = labels.Set{namespaceNameLabel: name} // Mutant (kill-rate test only).
			}
			if nsSel.Matches(nsLabels) {
				namespaces = append(namespaces, name)
			}
		}
		if v.mutant == MutantEmptyNamespaceSelectorOwnNamespace && isEmptySelector(peer.NamespaceSelector) {
			namespaces = []string{policyNamespace} // Mutant (kill-rate test only).
		}
	}
	podSel := labels.Everything()
	if peer.PodSelector != nil {
		var err error
		if podSel, err = selectorMatcher(peer.PodSelector, v.mutant); err != nil {
			return nil, false
		}
	}
	for _, ns := range namespaces {
		for _, p := range v.podsByNamespace[ns] {
			if v.selectablePeer(p) && podSel.Matches(labels.Set(p.Labels)) {
				pods = append(pods, p)
			}
		}
	}
	return pods, true
}

// allSelectablePods lists every pod that may be a destination, for named
// ports in egress rules without peers.
func (v *clusterView) allSelectablePods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, ns := range v.namespaceNames {
		for _, p := range v.podsByNamespace[ns] {
			if v.selectablePeer(p) {
				out = append(out, p)
			}
		}
	}
	return out
}
