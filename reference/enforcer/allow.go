package enforcer

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// allowSet collects allow lines in order without duplicates.
type allowSet struct {
	seen  map[string]bool
	lines []string
}

// addPorts adds the lines allowing peer (invalid prefix: any address) on the
// given port matches. No matches means the rule allows nothing: no line.
func (a *allowSet) addPorts(direction string, peer netip.Prefix, matches []portMatch, comment string) {
	for _, ports := range groupPorts(matches) {
		var parts []string
		if peer.IsValid() {
			parts = append(parts, direction+" "+peer.String())
		}
		if ports != "" {
			parts = append(parts, string(ports))
		}
		parts = append(parts, "-m comment --comment \""+comment+"\"", "-j RETURN")
		line := strings.Join(parts, " ")
		if a.seen == nil {
			a.seen = map[string]bool{}
		}
		if !a.seen[line] {
			a.seen[line] = true
			a.lines = append(a.lines, line)
		}
	}
}

// ingressAllows renders the allow lines of the pod's ingress chain: sources
// are the rule's peers, ports resolve against the pod itself.
func ingressAllows(view *clusterView, pod *corev1.Pod, policies []*networkingv1.NetworkPolicy, family IPFamily) []string {
	var set allowSet
	for _, np := range policies {
		for i, rule := range np.Spec.Ingress {
			comment := fmt.Sprintf("%s/%s ingress %d", np.Namespace, np.Name, i)
			matches := resolvePorts(rule.Ports, pod, view.mutant)
			if len(matches) == 0 {
				continue
			}
			peers, ok := view.cachedPeerPrefixes(np, false, i, rule.From, family)
			if !ok {
				continue
			}
			for _, peer := range peers {
				set.addPorts("-s", peer, matches, comment)
			}
		}
	}
	return set.lines
}

// egressAllows renders the allow lines of the pod's egress chain. Named ports
// resolve per destination pod, so such rules expand to one line per pod.
func egressAllows(view *clusterView, pod *corev1.Pod, policies []*networkingv1.NetworkPolicy, family IPFamily) []string {
	var set allowSet
	for _, np := range policies {
		for i, rule := range np.Spec.Egress {
			comment := fmt.Sprintf("%s/%s egress %d", np.Namespace, np.Name, i)
			if !hasNamedPort(rule.Ports) {
				peers, ok := view.cachedPeerPrefixes(np, true, i, rule.To, family)
				if !ok {
					continue
				}
				matches := resolvePorts(rule.Ports, nil, view.mutant)
				for _, peer := range peers {
					set.addPorts("-d", peer, matches, comment)
				}
				continue
			}
			for _, dest := range destinationPods(view, np.Namespace, rule.To, family) {
				ip, _ := addrOfFamily(view.podAddrs(dest), family)
				resolveOn := dest
				if view.mutant == MutantNamedPortOnSource {
					resolveOn = pod // Mutant (kill-rate test only).
				}
				set.addPorts("-d", hostPrefix(ip), resolvePorts(rule.Ports, resolveOn, view.mutant), comment)
			}
			// Numeric entries of a mixed list also apply to non-pod peers.
			peers, ok := view.cachedPeerPrefixes(np, true, i, rule.To, family)
			if !ok {
				continue
			}
			numeric := resolvePorts(rule.Ports, nil, view.mutant)
			for _, peer := range peers {
				set.addPorts("-d", peer, numeric, comment)
			}
		}
	}
	return set.lines
}

// cachedPeerPrefixes memoizes peerPrefixes per policy rule and family.
func (v *clusterView) cachedPeerPrefixes(np *networkingv1.NetworkPolicy, egress bool, rule int, peers []networkingv1.NetworkPolicyPeer, family IPFamily) ([]netip.Prefix, bool) {
	key := peerCacheKey{policy: np, egress: egress, rule: rule, family: family}
	if e, ok := v.peerCache[key]; ok {
		return e.prefixes, e.ok
	}
	prefixes, ok := peerPrefixes(v, np.Namespace, peers, family)
	v.peerCache[key] = peerCacheEntry{prefixes, ok}
	return prefixes, ok
}

// peerPrefixes expands a rule's peer list to source or destination prefixes
// of one family. An empty list means every address: one invalid prefix,
// which renders as no address match. ok is false when the list is non-empty
// and nothing of it can be rendered (still fail closed: no lines).
func peerPrefixes(view *clusterView, policyNamespace string, peers []networkingv1.NetworkPolicyPeer, family IPFamily) ([]netip.Prefix, bool) {
	if len(peers) == 0 {
		if view.mutant == MutantEmptyPeersMatchNothing {
			return nil, false // Mutant (kill-rate test only).
		}
		return []netip.Prefix{{}}, true
	}
	var out []netip.Prefix
	for _, peer := range peers {
		if peer.IPBlock != nil {
			if peer.PodSelector != nil || peer.NamespaceSelector != nil {
				continue // invalid: ipBlock must stand alone
			}
			prefixes, err := ipBlockPrefixes(view.mutant.ipBlock(peer.IPBlock))
			if err != nil {
				continue
			}
			for _, p := range prefixes {
				if familyOf(p.Addr()) == family {
					out = append(out, p)
				}
			}
			continue
		}
		if peer.PodSelector == nil && peer.NamespaceSelector == nil {
			continue // an empty peer is invalid: it matches nothing
		}
		pods, ok := view.peerPods(policyNamespace, peer)
		if !ok {
			continue
		}
		for _, p := range pods {
			if ip, ok := addrOfFamily(view.podAddrs(p), family); ok {
				out = append(out, hostPrefix(ip))
			}
		}
	}
	return out, len(out) > 0
}

// destinationPods lists the pods a rule's peers can reach, for resolving
// named ports: selected pods, pods whose IP lies in an ipBlock, or every pod
// when the peer list is empty.
func destinationPods(view *clusterView, policyNamespace string, peers []networkingv1.NetworkPolicyPeer, family IPFamily) []*corev1.Pod {
	var out []*corev1.Pod
	seen := map[*corev1.Pod]bool{}
	add := func(p *corev1.Pod) {
		if _, ok := addrOfFamily(view.podAddrs(p), family); ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(peers) == 0 {
		for _, p := range view.allSelectablePods() {
			add(p)
		}
		return out
	}
	for _, peer := range peers {
		if peer.IPBlock != nil {
			if peer.PodSelector != nil || peer.NamespaceSelector != nil {
				continue
			}
			prefixes, err := ipBlockPrefixes(view.mutant.ipBlock(peer.IPBlock))
			if err != nil {
				continue
			}
			for _, p := range view.allSelectablePods() {
				ip, ok := addrOfFamily(view.podAddrs(p), family)
				if ok && containsAny(prefixes, ip) {
					add(p)
				}
			}
			continue
		}
		if peer.PodSelector == nil && peer.NamespaceSelector == nil {
			continue
		}
		pods, _ := view.peerPods(policyNamespace, peer)
		for _, p := range pods {
			add(p)
		}
	}
	return out
}

func containsAny(prefixes []netip.Prefix, ip netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
