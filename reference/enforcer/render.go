package enforcer

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Render computes the desired rules for both IP families from a snapshot. It
// is a pure function: the same snapshot always gives the same text.
func Render(s Snapshot, opts RenderOptions) []Ruleset {
	opts = opts.withDefaults()
	view := newClusterView(s, opts.mutant)
	locals := localTargets(s)
	if opts.mutant == MutantEnforceNothing {
		locals = nil // Mutant (kill-rate test only): no pod is isolated.
	}
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
	if view.mutant == MutantNoEstablished {
		forward.Rules, input.Rules = nil, nil // Mutant (kill-rate test only): replies judged as new traffic.
	}
	if family == IPv6 {
		// Neighbour discovery and router messages keep IPv6 working at all.
		for _, icmpType := range []int{133, 134, 135, 136, 137} {
			rule := fmt.Sprintf("-p ipv6-icmp -m icmp6 --icmpv6-type %d -j RETURN", icmpType)
			forward.Rules = append(forward.Rules, rule)
			input.Rules = append(input.Rules, rule)
		}
	}
	nodeIPs := nodeAddresses(s.Node, family)
	deny := denyRule(opts.DenyAction, family)
	if view.mutant == MutantDenyOnlyTCP {
		deny = "-p tcp " + deny // Mutant (kill-rate test only): UDP and SCTP pass.
	}
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
			rules = append(rules, deny)
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
				exempt := hostPrefix(nodeIP)
				if view.mutant == MutantAllNodesExempt {
					exempt = mutantNodeSubnet(nodeIP) // Mutant (kill-rate test only): every node is exempt.
				}
				rules = append(rules, fmt.Sprintf("-s %s -j RETURN", exempt))
			}
			// Mutants (kill-rate test only): allowances no policy made.
			switch view.mutant {
			case MutantSameNamespaceAllowed:
				rules = append(rules, mutantSameNamespace(view, pod, family)...)
			case MutantUDPIngressIgnored:
				rules = append(rules, "-p udp -j RETURN")
			}
			rules = append(rules, ingressAllows(view, pod, ingressPolicies, family)...)
			rules = append(rules, deny)
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
	// Mutants (kill-rate test only).
	switch v.mutant {
	case MutantIgnoreEgress:
		egress = nil
	case MutantOnePolicyPerPod:
		ingress, egress = mutantFirstPolicy(ingress), mutantFirstPolicy(egress)
	}
	return ingress, egress
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
