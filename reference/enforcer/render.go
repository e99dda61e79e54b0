package enforcer

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Chain is one chain the enforcer owns, with its rules as iptables arguments
// (what follows "-A <name>").
type Chain struct {
	Name  string
	Rules []string
}

// Ruleset is the complete desired state for one IP family.
type Ruleset struct {
	Family IPFamily
	Chains []Chain // the FORWARD and INPUT entry chains first, then per-pod chains by name
}

// ChainNames lists the chains of the ruleset.
func (r Ruleset) ChainNames() []string {
	names := make([]string, len(r.Chains))
	for i, c := range r.Chains {
		names[i] = c.Name
	}
	return names
}

// RuleCount is the number of rules over all chains.
func (r Ruleset) RuleCount() int {
	n := 0
	for _, c := range r.Chains {
		n += len(c.Rules)
	}
	return n
}

// Payload renders iptables-restore input that, applied with --noflush,
// replaces the content of every chain of the ruleset (declaring a chain
// flushes it) and deletes the chains named in stale, touching nothing else.
func (r Ruleset) Payload(stale []string) string {
	return restorePayload(r.Chains, stale)
}

// restorePayload writes the given chains (declared, so flushed, then
// refilled) and deletes the stale ones.
func restorePayload(chains []Chain, stale []string) string {
	var b strings.Builder
	b.WriteString("*filter\n")
	for _, c := range chains {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c.Name)
	}
	// Stale chains are flushed by declaring them, then deleted once no
	// chain of ours (each re-declared, hence flushed) jumps to them any more.
	for _, name := range stale {
		fmt.Fprintf(&b, ":%s - [0:0]\n", name)
	}
	for _, c := range chains {
		for _, rule := range c.Rules {
			b.WriteString("-A ")
			b.WriteString(c.Name)
			b.WriteByte(' ')
			b.WriteString(rule)
			b.WriteByte('\n')
		}
	}
	for _, name := range stale {
		fmt.Fprintf(&b, "-X %s\n", name)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// hash identifies the chain's content.
func (c Chain) hash() [sha256.Size]byte {
	h := sha256.New()
	for _, r := range c.Rules {
		h.Write([]byte(r))
		h.Write([]byte{'\n'})
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// EntryChains returns the names of the chains jumped to from FORWARD and INPUT.
func EntryChains(prefix string) (forward, input string) {
	if prefix == "" {
		prefix = DefaultChainPrefix
	}
	return prefix + "FORWARD", prefix + "INPUT"
}

// Render computes the desired rules for both IP families from a snapshot. It
// is a pure function: the same snapshot always gives the same text.
func Render(s Snapshot, opts RenderOptions) []Ruleset {
	opts = opts.withDefaults()
	view := newClusterView(s)
	locals := localTargets(s)
	var out []Ruleset
	for _, family := range []IPFamily{IPv4, IPv6} {
		out = append(out, renderFamily(s, view, locals, family, opts))
	}
	return out
}

// localTargets returns the node's pods that can be isolated, sorted.
func localTargets(s Snapshot) []*corev1.Pod {
	var locals []*corev1.Pod
	for _, p := range s.Pods {
		if p.Spec.NodeName == s.NodeName && isTarget(p) {
			locals = append(locals, p)
		}
	}
	sort.Slice(locals, func(i, j int) bool {
		if locals[i].Namespace != locals[j].Namespace {
			return locals[i].Namespace < locals[j].Namespace
		}
		return locals[i].Name < locals[j].Name
	})
	return locals
}

func renderFamily(s Snapshot, view *clusterView, locals []*corev1.Pod, family IPFamily, opts RenderOptions) Ruleset {
	forwardName, inputName := EntryChains(opts.ChainPrefix)
	forward := Chain{Name: forwardName, Rules: []string{"-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"}}
	input := Chain{Name: inputName, Rules: []string{"-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"}}
	if family == IPv6 {
		// Neighbour discovery and router messages keep IPv6 working at all.
		for _, icmpType := range []int{133, 134, 135, 136, 137} {
			rule := fmt.Sprintf("-p ipv6-icmp -m icmp6 --icmpv6-type %d -j RETURN", icmpType)
			forward.Rules = append(forward.Rules, rule)
			input.Rules = append(input.Rules, rule)
		}
	}
	nodeIPs := nodeAddresses(s.Node, family)
	var podChains []Chain
	var ingressJumps []string
	for _, pod := range locals {
		ip, ok := addrOfFamily(view.podAddrs(pod), family)
		if !ok {
			continue
		}
		own := hostPrefix(ip).String()
		ingressPolicies, egressPolicies := view.policiesFor(pod)
		key := pod.Namespace + "/" + pod.Name
		if len(egressPolicies) > 0 {
			name := podChainName(opts.ChainPrefix, "E-", key)
			jump := fmt.Sprintf("-s %s -m comment --comment \"%s egress\" -j %s", own, key, name)
			forward.Rules = append(forward.Rules, jump)
			input.Rules = append(input.Rules, jump)
			rules := []string{fmt.Sprintf("-d %s -j RETURN", own)}
			rules = append(rules, egressAllows(view, pod, egressPolicies, family)...)
			rules = append(rules, denyRule(opts.DenyAction, family))
			podChains = append(podChains, Chain{Name: name, Rules: rules})
		}
		if len(ingressPolicies) > 0 {
			name := podChainName(opts.ChainPrefix, "I-", key)
			ingressJumps = append(ingressJumps, fmt.Sprintf("-d %s -m comment --comment \"%s ingress\" -j %s", own, key, name))
			rules := []string{
				fmt.Sprintf("-s %s -j RETURN", own),
				"-m addrtype --src-type LOCAL -j RETURN",
			}
			for _, nodeIP := range nodeIPs {
				rules = append(rules, fmt.Sprintf("-s %s -j RETURN", hostPrefix(nodeIP)))
			}
			rules = append(rules, ingressAllows(view, pod, ingressPolicies, family)...)
			rules = append(rules, denyRule(opts.DenyAction, family))
			podChains = append(podChains, Chain{Name: name, Rules: rules})
		}
	}
	// Egress jumps come before ingress jumps: traffic between two pods of this
	// node passes the source's egress chain, then the destination's ingress.
	forward.Rules = append(forward.Rules, ingressJumps...)
	sort.Slice(podChains, func(i, j int) bool { return podChains[i].Name < podChains[j].Name })
	return Ruleset{Family: family, Chains: append([]Chain{forward, input}, podChains...)}
}

// policiesFor returns the policies that isolate the pod, per direction,
// sorted by name for a stable output.
func (v *clusterView) policiesFor(pod *corev1.Pod) (ingress, egress []*networkingv1.NetworkPolicy) {
	for _, cp := range v.policiesByNS[pod.Namespace] {
		if !cp.selects(pod) {
			continue
		}
		if cp.ingress {
			ingress = append(ingress, cp.np)
		}
		if cp.egress {
			egress = append(egress, cp.np)
		}
	}
	return ingress, egress
}

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
			matches := resolvePorts(rule.Ports, pod)
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
				matches := resolvePorts(rule.Ports, nil)
				for _, peer := range peers {
					set.addPorts("-d", peer, matches, comment)
				}
				continue
			}
			for _, dest := range destinationPods(view, np.Namespace, rule.To, family) {
				ip, _ := addrOfFamily(view.podAddrs(dest), family)
				set.addPorts("-d", hostPrefix(ip), resolvePorts(rule.Ports, dest), comment)
			}
			// Numeric entries of a mixed list also apply to non-pod peers.
			peers, ok := view.cachedPeerPrefixes(np, true, i, rule.To, family)
			if !ok {
				continue
			}
			numeric := resolvePorts(rule.Ports, nil)
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
		return []netip.Prefix{{}}, true
	}
	var out []netip.Prefix
	for _, peer := range peers {
		if peer.IPBlock != nil {
			if peer.PodSelector != nil || peer.NamespaceSelector != nil {
				continue // invalid: ipBlock must stand alone
			}
			prefixes, err := ipBlockPrefixes(peer.IPBlock)
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
			prefixes, err := ipBlockPrefixes(peer.IPBlock)
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

func denyRule(action DenyAction, family IPFamily) string {
	if action == DenyDrop {
		return "-j DROP"
	}
	if family == IPv6 {
		return "-j REJECT --reject-with icmp6-adm-prohibited"
	}
	return "-j REJECT --reject-with icmp-admin-prohibited"
}

func nodeAddresses(node *corev1.Node, family IPFamily) []netip.Addr {
	if node == nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range node.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && familyOf(ip.Unmap()) == family {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

func familyOf(a netip.Addr) IPFamily {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

func addrOfFamily(addrs []netip.Addr, family IPFamily) (netip.Addr, bool) {
	for _, a := range addrs {
		if familyOf(a) == family {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func hostPrefix(a netip.Addr) netip.Prefix {
	return netip.PrefixFrom(a, a.BitLen())
}

// podChainName derives a stable name of at most 28 characters from the pod's
// namespace/name, so renames of unrelated pods never move a chain.
func podChainName(prefix, kind, key string) string {
	sum := sha256.Sum256([]byte(key))
	encoded := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])
	name := prefix + kind + encoded
	const maxChainName = 28
	if len(name) > maxChainName {
		name = name[:maxChainName]
	}
	return name
}
