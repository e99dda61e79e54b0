package model

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Evaluate returns the verdict for one Traffic with every reason behind it.
// It is the plain, clause-by-clause reading of DESIGN.md; TruthTable computes
// the same decisions faster and the fuzz test holds the two together.
func Evaluate(topo *Topology, policies []*networkingv1.NetworkPolicy, t Traffic) (Verdict, error) {
	w, err := newWorld(topo)
	if err != nil {
		return Verdict{}, fmt.Errorf("topology: %w", err)
	}
	ps, err := w.parsePolicies(policies)
	if err != nil {
		return Verdict{}, err
	}
	return w.evaluate(ps, t)
}

// source is the resolved source end of a Traffic.
type source struct {
	pod  int // index into world.pods, -1 for a bare IP
	addr netip.Addr
	desc string
}

func (w *world) resolveSource(e Endpoint) (source, error) {
	if e.Pod != nil {
		i, err := w.lookup(*e.Pod)
		if err != nil {
			return source{}, fmt.Errorf("source: %w", err)
		}
		return source{pod: i, addr: w.podIP[i], desc: e.Pod.String()}, nil
	}
	if e.IP == "" {
		return source{}, fmt.Errorf("source: neither a pod nor an IP")
	}
	addr, err := netip.ParseAddr(e.IP)
	if err != nil {
		return source{}, fmt.Errorf("source: invalid IP %q", e.IP)
	}
	addr = addr.Unmap()
	// An address that belongs to a pod (not a hostNetwork one, which shares
	// its node's address) is that pod.
	for i := range w.pods {
		if w.pods[i].HostNetwork {
			continue
		}
		for _, a := range w.podIPs[i] {
			if a == addr {
				return source{pod: i, addr: addr, desc: fmt.Sprintf("%s (%s)", w.pods[i].Ref(), addr)}, nil
			}
		}
	}
	return source{pod: -1, addr: addr, desc: addr.String()}, nil
}

func (w *world) evaluate(ps []*policyInfo, t Traffic) (Verdict, error) {
	dst, err := w.lookup(t.To)
	if err != nil {
		return Verdict{}, fmt.Errorf("destination: %w", err)
	}
	src, err := w.resolveSource(t.From)
	if err != nil {
		return Verdict{}, err
	}
	proto := defaultProtocol(t.Protocol)
	if protocolRank(proto) == len(protocols) {
		return Verdict{}, fmt.Errorf("unsupported protocol %q", t.Protocol)
	}
	if t.Port < 1 || t.Port > 65535 {
		return Verdict{}, fmt.Errorf("port %d out of range 1-65535", t.Port)
	}
	c := cellCtx{w: w, ps: ps, src: src, dst: dst, pp: PortProtocol{Port: t.Port, Protocol: proto}}
	if src.pod == dst {
		text := fmt.Sprintf("%s reaches itself: always allowed", t.To)
		return Verdict{Ingress: Allowed, Egress: Allowed, Allowed: Allowed, Reasons: []Reason{
			{Direction: Ingress, Clause: ClauseSelf, Rule: -1, Peer: -1, PortIndex: -1, Text: text},
			{Direction: Egress, Clause: ClauseSelf, Rule: -1, Peer: -1, PortIndex: -1, Text: text},
		}}, nil
	}
	v := Verdict{Ingress: c.ingress(), Egress: c.egress()}
	v.Allowed = Combine(v.Ingress, v.Egress)
	v.Reasons = c.reasons
	v.Reasons = append(v.Reasons, Reason{Clause: ClauseBoth, Rule: -1, Peer: -1, PortIndex: -1,
		Text: fmt.Sprintf("%s: ingress %s, egress %s", v.Allowed, v.Ingress, v.Egress)})
	return v, nil
}

// cellCtx evaluates one cell and collects the reasons.
type cellCtx struct {
	w       *world
	ps      []*policyInfo
	src     source
	dst     int
	pp      PortProtocol
	reasons []Reason
}

func (c *cellCtx) say(dir Direction, clause ClauseID, policy string, rule, peer, port int, format string, args ...any) {
	c.reasons = append(c.reasons, Reason{Direction: dir, Clause: clause, Policy: policy,
		Rule: rule, Peer: peer, PortIndex: port, Text: fmt.Sprintf(format, args...)})
}

// isolating lists the policies that select pod i for a direction (NP-ISO);
// hostNetwork pods are never selected (NP-HOSTNET).
func (c *cellCtx) isolating(i int, dir Direction) []*policyInfo {
	pod := c.w.pods[i]
	var out []*policyInfo
	for _, p := range c.ps {
		if p.np.Namespace != pod.Namespace || !p.podSel.Matches(c.w.podSet[i]) {
			continue
		}
		if (dir == Ingress && p.ingress) || (dir == Egress && p.egress) {
			out = append(out, p)
		}
	}
	return out
}

func (c *cellCtx) ingress() Decision {
	w, dst := c.w, c.dst
	pod := w.pods[dst]
	ref := pod.Ref()
	if pod.HostNetwork {
		c.say(Ingress, ClauseHostNet, "", -1, -1, -1, "%s uses the host network: no policy selects it, ingress allowed", ref)
		return Allowed
	}
	iso := c.isolating(dst, Ingress)
	if len(iso) == 0 {
		c.say(Ingress, ClauseIso, "", -1, -1, -1, "%s is not isolated for ingress: no policy in %s selects it with Ingress in its policyTypes", ref, ref.Namespace)
		return Allowed
	}
	for _, p := range iso {
		c.say(Ingress, ClauseIso, p.key, -1, -1, -1, "%s is isolated for ingress by %s (%s)", ref, p.key, typesText(p))
	}
	if c.fromNodeOf(dst) {
		c.say(Ingress, ClauseNode, "", -1, -1, -1, "%s is the node %s that hosts %s: always allowed", c.src.desc, pod.Node, ref)
		return Allowed
	}
	return c.rules(Ingress, iso)
}

func (c *cellCtx) egress() Decision {
	w, src := c.w, c.src
	if src.pod < 0 {
		c.say(Egress, ClauseIso, "", -1, -1, -1, "source %s is not a pod: no egress policy applies", src.desc)
		return Allowed
	}
	pod := w.pods[src.pod]
	ref := pod.Ref()
	if pod.HostNetwork {
		c.say(Egress, ClauseHostNet, "", -1, -1, -1, "%s uses the host network: no policy selects it, egress allowed", ref)
		return Allowed
	}
	iso := c.isolating(src.pod, Egress)
	if len(iso) == 0 {
		c.say(Egress, ClauseIso, "", -1, -1, -1, "%s is not isolated for egress: no policy in %s selects it with Egress in its policyTypes", ref, ref.Namespace)
		return Allowed
	}
	for _, p := range iso {
		c.say(Egress, ClauseIso, p.key, -1, -1, -1, "%s is isolated for egress by %s (%s)", ref, p.key, typesText(p))
	}
	d := c.rules(Egress, iso)
	if d == Denied && w.pods[c.dst].HostNetwork {
		c.say(Egress, ClauseNode, "", -1, -1, -1, "%s uses the host network: traffic from a pod to a node address is implementation-defined", w.pods[c.dst].Ref())
		return Undefined
	}
	return d
}

// fromNodeOf reports whether the source is the node that hosts pod i: its
// address, or a hostNetwork pod on it (NP-NODE).
func (c *cellCtx) fromNodeOf(i int) bool {
	node := c.w.pods[i].Node
	if c.src.pod < 0 {
		return c.w.onNode(node, c.src.addr)
	}
	srcPod := c.w.pods[c.src.pod]
	return srcPod.HostNetwork && node != "" && (srcPod.Node == node || c.w.onNode(node, c.src.addr))
}

func typesText(p *policyInfo) string {
	in, eg := p.ingress, p.egress
	var types string
	switch {
	case in && eg:
		types = "[Ingress, Egress]"
	case in:
		types = "[Ingress]"
	default:
		types = "[Egress]"
	}
	if len(p.np.Spec.PolicyTypes) == 0 {
		return "policyTypes unset, effective " + types + " (NP-TYPES)"
	}
	return "policyTypes " + types
}

// rules is NP-RULE and NP-ADD over the isolating policies: allowed when any
// rule of any of them matches the remote end and the port.
func (c *cellCtx) rules(dir Direction, iso []*policyInfo) Decision {
	remote := c.remoteDesc(dir)
	admitted, undefined := false, false
	for _, p := range iso {
		rules := p.inRules
		if dir == Egress {
			rules = p.egRules
		}
		if len(rules) == 0 {
			c.say(dir, ClauseRule, p.key, -1, -1, -1, "%s has no %s rules: it allows nothing by itself", p.key, lower(dir))
			continue
		}
		for ri := range rules {
			switch c.rule(dir, p, ri, &rules[ri]) {
			case Allowed:
				admitted = true
			case Undefined:
				undefined = true
			}
		}
	}
	switch {
	case admitted:
		if len(iso) > 1 {
			c.say(dir, ClauseAdd, "", -1, -1, -1, "policies add allowances: one admitting rule is enough")
		}
		return Allowed
	case undefined:
		c.say(dir, ClauseHostNet, "", -1, -1, -1, "only selector peers could admit %s, which uses the host network: implementation-defined", remote)
		return Undefined
	default:
		c.say(dir, ClauseRule, "", -1, -1, -1, "no rule admits %s on %s for %s", remote, c.pp, lower(dir))
		return Denied
	}
}

func lower(d Direction) string {
	if d == Ingress {
		return "ingress"
	}
	return "egress"
}

// remote returns the pod index (or -1) and address of the other end.
func (c *cellCtx) remote(dir Direction) (int, netip.Addr) {
	if dir == Ingress {
		return c.src.pod, c.src.addr
	}
	return c.dst, c.w.podIP[c.dst]
}

func (c *cellCtx) remoteDesc(dir Direction) string {
	if dir == Ingress {
		return c.src.desc
	}
	return c.w.pods[c.dst].Ref().String()
}

// rule decides one rule: Allowed when a peer and a port match, Undefined when
// only a selector peer matches a hostNetwork remote, else Denied.
func (c *cellCtx) rule(dir Direction, p *policyInfo, ri int, r *ruleInfo) Decision {
	portIdx := -1
	if len(r.ports) > 0 {
		for i, pi := range r.ports {
			if c.portMatches(pi) {
				portIdx = i
				break
			}
		}
		if portIdx < 0 {
			c.say(dir, ClausePort, p.key, ri, -1, -1, "%s rule %d: no port matches %s", lower(dir), ri, c.pp)
			return Denied
		}
		pi := r.ports[portIdx]
		clause := ClausePort
		if pi.name != "" {
			clause = ClauseNamed
		}
		c.say(dir, clause, p.key, ri, -1, portIdx, "%s rule %d port %d (%s) matches %s", lower(dir), ri, portIdx, c.portText(pi), c.pp)
	}
	remote := c.remoteDesc(dir)
	if len(r.peers) == 0 {
		c.say(dir, ClauseRule, p.key, ri, -1, portIdx, "%s rule %d has no peers: it admits every remote, so %s", lower(dir), ri, remote)
		return Allowed
	}
	result := Denied
	for pe := range r.peers {
		switch d, why := c.peerMatches(dir, p, &r.peers[pe]); d {
		case Allowed:
			c.say(dir, r.peers[pe].kind.clause(), p.key, ri, pe, portIdx, "%s rule %d peer %d admits %s: %s", lower(dir), ri, pe, remote, why)
			return Allowed
		case Undefined:
			c.say(dir, ClauseHostNet, p.key, ri, pe, portIdx, "%s rule %d peer %d: %s", lower(dir), ri, pe, why)
			result = Undefined
		}
	}
	if result == Denied {
		c.say(dir, ClauseRule, p.key, ri, -1, portIdx, "%s rule %d: no peer matches %s", lower(dir), ri, remote)
	}
	return result
}

func (c *cellCtx) portText(pi portInfo) string {
	if pi.name == "" {
		return pi.String()
	}
	n, _ := c.w.resolveNamedPort(c.dst, pi.name, pi.protocol)
	return fmt.Sprintf("%s, which %s declares as %d", pi, c.w.pods[c.dst].Ref(), n)
}

// portMatches is NP-PORT and NP-NAMED. The named port resolves on the
// destination pod in both directions: on ingress that is the selected pod,
// on egress it is the peer.
func (c *cellCtx) portMatches(pi portInfo) bool {
	if pi.protocol != c.pp.Protocol {
		return false
	}
	switch {
	case pi.any:
		return true
	case pi.name != "":
		n, ok := c.w.resolveNamedPort(c.dst, pi.name, pi.protocol)
		return ok && n == c.pp.Port
	case pi.end != 0:
		return pi.number <= c.pp.Port && c.pp.Port <= pi.end
	default:
		return pi.number == c.pp.Port
	}
}

// peerMatches decides whether a peer matches the remote end, with the why.
func (c *cellCtx) peerMatches(dir Direction, p *policyInfo, pe *peerInfo) (Decision, string) {
	w := c.w
	i, addr := c.remote(dir)
	if pe.kind == peerIPBlock {
		if pe.ipBlockContains(addr) {
			return Allowed, fmt.Sprintf("%s is in ipBlock %s and in no except", addr, pe.cidr)
		}
		return Denied, ""
	}
	if i < 0 {
		return Denied, "" // a bare IP is matched only by ipBlock
	}
	pod := w.pods[i]
	var nsOK bool
	switch pe.kind {
	case peerPod:
		nsOK = pod.Namespace == p.np.Namespace
	default:
		nsOK = pe.nsSel.Matches(w.nsLabels[pod.Namespace])
	}
	podOK := pe.podSel == nil || pe.podSel.Matches(w.podSet[i])
	if !nsOK || !podOK {
		return Denied, ""
	}
	var why string
	switch pe.kind {
	case peerPod:
		why = fmt.Sprintf("podSelector %q matches it in the policy's namespace %s", selText(pe.podKey), p.np.Namespace)
	case peerNS:
		why = fmt.Sprintf("namespaceSelector %q matches its namespace %s", selText(pe.nsKey), pod.Namespace)
	default:
		why = fmt.Sprintf("namespaceSelector %q matches %s and podSelector %q matches the pod", selText(pe.nsKey), pod.Namespace, selText(pe.podKey))
	}
	if !w.peerEligible(i) {
		c.say(dir, ClausePhase, p.key, -1, -1, -1, "%s has no IP or has finished (phase %s): selector peers do not match it", pod.Ref(), phaseText(pod.Phase))
		return Denied, ""
	}
	if pod.HostNetwork {
		return Undefined, fmt.Sprintf("it would match %s (%s), but %s uses the host network: implementation-defined", pod.Ref(), why, pod.Ref())
	}
	return Allowed, why
}

func selText(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

func phaseText(p corev1.PodPhase) string {
	if p == "" {
		return "Running"
	}
	return string(p)
}
