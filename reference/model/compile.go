package model

import (
	"k8s.io/apimachinery/pkg/labels"
)

// The compiled evaluation behind TruthTable: every selector is matched once
// against the pods, every rule becomes bitsets of the remote pods it admits,
// and every pod gets, per port, the set of pods it accepts from (ingress) and
// may reach (egress). A cell is then a few bit lookups. It must agree with
// the clause-by-clause Evaluate; FuzzModel checks that it does.

// Cell decision codes, two bits per direction.
const (
	codeDenied    uint8 = 0
	codeAllowed   uint8 = 1
	codeUndefined uint8 = 2
)

var codeDecision = [...]Decision{codeDenied: Denied, codeAllowed: Allowed, codeUndefined: Undefined}

func decisionCode(d Decision) uint8 {
	switch d {
	case Allowed:
		return codeAllowed
	case Undefined:
		return codeUndefined
	default:
		return codeDenied
	}
}

type compiler struct {
	w        *world
	n        int
	all      bitset
	eligible bitset // NP-PHASE
	hostNet  bitset
	nsPods   map[string]bitset
	podCache map[string]bitset // scope key + selector -> pods
	nsCache  map[string]bitset // namespace selector -> pods in matching namespaces
}

// direction holds, per pod and port, the remote pods a pod admits: through
// any peer, and through peers that are not selectors (no peers, ipBlock),
// which alone decide for hostNetwork remotes (NP-HOSTNET).
type direction struct {
	isolated []bool
	any      [][]bitset // [port][pod]; nil when the pod admits nothing on it
	plain    [][]bitset
}

func newCompiler(w *world) *compiler {
	n := len(w.pods)
	c := &compiler{w: w, n: n, all: fullBitset(n), eligible: newBitset(n), hostNet: newBitset(n),
		nsPods: map[string]bitset{}, podCache: map[string]bitset{}, nsCache: map[string]bitset{}}
	for i, pod := range w.pods {
		if w.peerEligible(i) {
			c.eligible.set(i)
		}
		if pod.HostNetwork {
			c.hostNet.set(i)
		}
		ns := c.nsPods[pod.Namespace]
		if ns == nil {
			ns = newBitset(n)
			c.nsPods[pod.Namespace] = ns
		}
		ns.set(i)
	}
	return c
}

func (c *compiler) namespace(ns string) bitset {
	if b := c.nsPods[ns]; b != nil {
		return b
	}
	return newBitset(c.n)
}

// podsMatching returns the pods of scope whose labels match sel.
func (c *compiler) podsMatching(sel labels.Selector, selKey string, scope bitset, scopeKey string) bitset {
	if sel.Empty() {
		return scope
	}
	key := scopeKey + "\x00" + selKey
	if b, ok := c.podCache[key]; ok {
		return b
	}
	b := newBitset(c.n)
	scope.each(func(i int) {
		if sel.Matches(c.w.podSet[i]) {
			b.set(i)
		}
	})
	c.podCache[key] = b
	return b
}

// namespacesMatching returns the pods of every namespace sel matches.
func (c *compiler) namespacesMatching(sel labels.Selector, selKey string) bitset {
	if b, ok := c.nsCache[selKey]; ok {
		return b
	}
	b := newBitset(c.n)
	for _, ns := range c.w.nsNames {
		if sel.Matches(c.w.nsLabels[ns]) {
			b.or(c.namespace(ns))
		}
	}
	c.nsCache[selKey] = b
	return b
}

// peers returns the pods a rule's peers admit (all of them for no peers),
// and the subset admitted by peers that are not selectors.
func (c *compiler) peers(p *policyInfo, r *ruleInfo) (any, plain bitset) {
	if len(r.peers) == 0 {
		return c.all, c.all
	}
	any, plain = newBitset(c.n), newBitset(c.n)
	for i := range r.peers {
		pe := &r.peers[i]
		switch pe.kind {
		case peerIPBlock:
			for j := range c.w.pods {
				if pe.ipBlockContains(c.w.podIP[j]) {
					any.set(j)
					plain.set(j)
				}
			}
		case peerPod:
			any.orAnd(c.podsMatching(pe.podSel, pe.podKey, c.namespace(p.np.Namespace), "ns:"+p.np.Namespace), c.eligible)
		case peerNS:
			any.orAnd(c.namespacesMatching(pe.nsSel, pe.nsKey), c.eligible)
		case peerAnd:
			any.orAnd(c.podsMatching(pe.podSel, pe.podKey, c.namespacesMatching(pe.nsSel, pe.nsKey), "nssel:"+pe.nsKey), c.eligible)
		}
	}
	return any, plain
}

// ports returns, per table port, the destination pods on which the rule's
// ports match it: all pods, none (nil), or those whose named port resolves to it.
func (c *compiler) ports(r *ruleInfo, pps []PortProtocol) []bitset {
	out := make([]bitset, len(pps))
	for k, pp := range pps {
		if len(r.ports) == 0 {
			out[k] = c.all
			continue
		}
		var named bitset
		for _, pi := range r.ports {
			if pi.protocol != pp.Protocol {
				continue
			}
			if pi.name == "" {
				if pi.any || pi.number == pp.Port || (pi.end != 0 && pi.number <= pp.Port && pp.Port <= pi.end) {
					out[k] = c.all
					break
				}
				continue
			}
			if named == nil {
				named = newBitset(c.n)
			}
			for j := range c.w.pods {
				if n, ok := c.w.resolveNamedPort(j, pi.name, pi.protocol); ok && n == pp.Port {
					named.set(j)
				}
			}
		}
		if out[k] == nil {
			out[k] = named
		}
	}
	return out
}

func (c *compiler) newDirection(nports int) *direction {
	d := &direction{isolated: make([]bool, c.n), any: make([][]bitset, nports), plain: make([][]bitset, nports)}
	for k := range d.any {
		d.any[k] = make([]bitset, c.n)
		d.plain[k] = make([]bitset, c.n)
	}
	return d
}

// admit adds set to d's pod i on port k, allocating on first use.
func (c *compiler) admit(sets [][]bitset, k, i int, set bitset, mask bitset) {
	if sets[k][i] == nil {
		sets[k][i] = newBitset(c.n)
	}
	if mask == nil {
		sets[k][i].or(set)
	} else {
		sets[k][i].orAnd(set, mask)
	}
}

// compile builds the ingress and egress directions for the given ports.
func (c *compiler) compile(ps []*policyInfo, pps []PortProtocol) (in, eg *direction) {
	in, eg = c.newDirection(len(pps)), c.newDirection(len(pps))
	for _, p := range ps {
		if !p.ingress && !p.egress {
			continue
		}
		ns := c.namespace(p.np.Namespace)
		selected := c.podsMatching(p.podSel, p.podSel.String(), ns, "ns:"+p.np.Namespace).andNot(c.hostNet)
		if p.ingress {
			selected.each(func(i int) { in.isolated[i] = true })
			for ri := range p.inRules {
				r := &p.inRules[ri]
				any, plain := c.peers(p, r)
				for k, dests := range c.ports(r, pps) {
					if dests == nil {
						continue
					}
					// On ingress the destination is the selected pod itself.
					selected.each(func(i int) {
						if dests.has(i) {
							c.admit(in.any, k, i, any, nil)
							c.admit(in.plain, k, i, plain, nil)
						}
					})
				}
			}
		}
		if p.egress {
			selected.each(func(i int) { eg.isolated[i] = true })
			for ri := range p.egRules {
				r := &p.egRules[ri]
				any, plain := c.peers(p, r)
				for k, dests := range c.ports(r, pps) {
					if dests == nil {
						continue
					}
					// On egress the destination is the peer: named ports resolve there.
					selected.each(func(i int) {
						c.admit(eg.any, k, i, any, dests)
						c.admit(eg.plain, k, i, plain, dests)
					})
				}
			}
		}
	}
	return in, eg
}

// cells fills the decision codes of one port: cells[from*n+to].
func (c *compiler) cells(in, eg *direction, k int, out []uint8) {
	n, w := c.n, c.w
	for s := 0; s < n; s++ {
		sHost := c.hostNet.has(s)
		egAny, egPlain := eg.any[k][s], eg.plain[k][s]
		row := out[s*n : (s+1)*n]
		for d := 0; d < n; d++ {
			if s == d { // NP-SELF
				row[d] = codeAllowed | codeAllowed<<2
				continue
			}
			dHost := c.hostNet.has(d)
			// Ingress.
			var ic uint8
			switch {
			case dHost || !in.isolated[d]:
				ic = codeAllowed
			case sHost:
				switch {
				case w.pods[d].Node != "" && (w.pods[s].Node == w.pods[d].Node || w.onNode(w.pods[d].Node, w.podIP[s])):
					ic = codeAllowed // NP-NODE
				case in.plain[k][d] != nil && in.plain[k][d].has(s):
					ic = codeAllowed
				case in.any[k][d] != nil && in.any[k][d].has(s):
					ic = codeUndefined
				default:
					ic = codeDenied
				}
			case in.any[k][d] != nil && in.any[k][d].has(s):
				ic = codeAllowed
			default:
				ic = codeDenied
			}
			// Egress.
			var ec uint8
			switch {
			case sHost || !eg.isolated[s]:
				ec = codeAllowed
			case dHost:
				if egPlain != nil && egPlain.has(d) {
					ec = codeAllowed
				} else {
					ec = codeUndefined // pod to node: implementation-defined
				}
			case egAny != nil && egAny.has(d):
				ec = codeAllowed
			default:
				ec = codeDenied
			}
			row[d] = ic | ec<<2
		}
	}
}
