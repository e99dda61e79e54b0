package generate

import (
	"math"
	"math/rand/v2"
)

// A dimension is one axis of what a NetworkPolicy can say or a case can do.
// Cases carry one label per dimension value they use, "<dimension>=<value>"
// (e.g. "port=named"), so a run can be filtered on them
// (--ginkgo.label-filter='peer=ipblock && protocol=sctp') and its coverage
// counted per value.
const (
	// DimFamily is how the case was made: combinatorial or random.
	DimFamily = "family"
	// DimTypes is how the policy sets policyTypes and which rule sections
	// it writes (NP-TYPES).
	DimTypes = "types"
	// DimTarget is the form of the policy's podSelector.
	DimTarget = "target"
	// DimPeer is what a rule admits: no rule at all, any peer, or a kind of
	// peer.
	DimPeer = "peer"
	// DimSelector is the form of the peers' pod and namespace selectors.
	DimSelector = "selector"
	// DimPort is the form of a rule's port entry.
	DimPort = "port"
	// DimProtocol is the port entry's protocol; unset means TCP (NP-PORT).
	DimProtocol = "protocol"
	// DimAction is what happens after the policy is in force.
	DimAction = "action"
)

// Values of DimFamily.
const (
	familyCombinatorial = "combinatorial"
	familyRandom        = "random"
)

// Values of DimTypes.
const (
	typesIngress = "ingress" // policyTypes [Ingress], ingress rules
	typesEgress  = "egress"  // policyTypes [Egress], egress rules
	typesBoth    = "both"    // policyTypes [Ingress, Egress], both sections
	typesUnset   = "unset"   // no policyTypes, ingress rules: Ingress is inferred
	// no policyTypes, both sections: Egress is inferred from the egress rules
	typesUnsetWithEgress = "unset-with-egress"
	// policyTypes [Ingress] with egress rules that must be ignored
	typesIngressIgnoringEgress = "ingress-ignoring-egress"
)

// Values of DimTarget and DimSelector: the forms a label selector takes
// (NP-SELECTOR).
const (
	formEmpty        = "empty" // {}: everything
	formMatchLabels  = "match-labels"
	formIn           = "in"
	formNotIn        = "not-in"
	formExists       = "exists"
	formDoesNotExist = "does-not-exist"
)

// Values of DimPeer.
const (
	peerNoRule          = "no-rule" // the direction has no rules: it admits nothing
	peerAny             = "any"     // a rule without peers: every remote
	peerPod             = "pod"
	peerNamespace       = "namespace"
	peerPodAndNamespace = "pod-and-namespace" // one peer with both selectors
	peerTwoPeers        = "two-peers"         // a pod peer or a namespace peer
	peerIPBlock         = "ipblock"
	peerIPBlockExcept   = "ipblock-except"
)

// Values of DimPort.
const (
	portAny          = "any" // no ports: every port and protocol
	portNumber       = "number"
	portNamed        = "named"
	portRange        = "range" // port and endPort
	portProtocolOnly = "protocol-only"
)

// Values of DimProtocol.
const (
	protocolTCP   = "tcp"
	protocolUDP   = "udp"
	protocolSCTP  = "sctp"
	protocolUnset = "unset"
)

// Values of DimAction.
const (
	actionNone             = "none"
	actionUpdate           = "update"
	actionDelete           = "delete"
	actionRelabelPod       = "relabel-pod"
	actionRelabelNamespace = "relabel-namespace"
	actionRecreatePod      = "recreate-pod"
	actionAddPolicy        = "add-policy"
)

var (
	typesValues    = []string{typesIngress, typesEgress, typesBoth, typesUnset, typesUnsetWithEgress, typesIngressIgnoringEgress}
	selectorForms  = []string{formEmpty, formMatchLabels, formIn, formNotIn, formExists, formDoesNotExist}
	peerValues     = []string{peerNoRule, peerAny, peerPod, peerNamespace, peerPodAndNamespace, peerTwoPeers, peerIPBlock, peerIPBlockExcept}
	portValues     = []string{portAny, portNumber, portNamed, portRange, portProtocolOnly}
	protocolValues = []string{protocolTCP, protocolUDP, protocolSCTP, protocolUnset}
	actionValues   = []string{actionNone, actionUpdate, actionDelete, actionRelabelPod, actionRelabelNamespace, actionRecreatePod, actionAddPolicy}
)

// Dimensions lists every dimension of the combinatorial family with its
// values, in the order labels give them: what docs and tests enumerate.
func Dimensions() map[string][]string {
	out := map[string][]string{DimFamily: {familyCombinatorial, familyRandom}}
	for _, d := range product {
		out[d.name] = append([]string(nil), d.values...)
	}
	return out
}

// combo is one point of the combinatorial product. A dimension that does
// not apply to the others (the selector of an ipBlock peer, the port of a
// direction without rules) is empty, so two points that build the same
// case are equal.
type combo struct {
	types, target, peer, selector, port, protocol, action string
}

type dimension struct {
	name   string
	values []string
}

// product is the combinatorial family's dimensions, in mixed-radix order
// (the last varies fastest before the walk below scrambles the order).
var product = []dimension{
	{DimTypes, typesValues}, {DimTarget, selectorForms}, {DimPeer, peerValues}, {DimSelector, selectorForms},
	{DimPort, portValues}, {DimProtocol, protocolValues}, {DimAction, actionValues},
}

// productSize is the number of points of the product, before points that
// build the same case are merged.
func productSize() uint64 {
	n := uint64(1)
	for _, d := range product {
		n *= uint64(len(d.values))
	}
	return n
}

// decode is the j-th point of the product in mixed radix.
func decode(j uint64) combo {
	v := make([]string, len(product))
	for i := len(product) - 1; i >= 0; i-- {
		r := uint64(len(product[i].values))
		v[i] = product[i].values[j%r]
		j /= r
	}
	return combo{types: v[0], target: v[1], peer: v[2], selector: v[3], port: v[4], protocol: v[5], action: v[6]}
}

// normalise empties the dimensions that do not apply, and folds the forms
// that mean the same, so that equal cases are equal combos.
func normalise(c combo) combo {
	switch c.peer {
	case peerPod, peerNamespace, peerPodAndNamespace, peerTwoPeers:
	default:
		c.selector = ""
	}
	if c.peer == peerNoRule {
		// No rules: no ports, and no egress section to infer or ignore.
		c.port = ""
		switch c.types {
		case typesUnsetWithEgress:
			c.types = typesUnset
		case typesIngressIgnoringEgress:
			c.types = typesIngress
		}
	}
	if (c.port == "" || c.port == portAny) && c.protocol == protocolUnset {
		// Without a port entry the protocol only picks the probes.
		c.protocol = protocolTCP
	}
	return c
}

// labels are the combo's dimension labels.
func (c combo) labels() []string {
	out := []string{label(DimFamily, familyCombinatorial)}
	for _, kv := range [][2]string{{DimTypes, c.types}, {DimTarget, c.target}, {DimPeer, c.peer}, {DimSelector, c.selector},
		{DimPort, c.port}, {DimProtocol, c.protocol}, {DimAction, c.action}} {
		if kv[1] != "" {
			out = append(out, label(kv[0], kv[1]))
		}
	}
	return out
}

func label(dim, value string) string { return dim + "=" + value }

// walkStream is the random stream (of the seed's PCG) that places the
// start of the walk; random cases use the streams 0, 1, 2 ... by index.
const walkStream = 1 << 63

// combos returns the first n distinct combos of the seed's walk through the
// product, fewer when the product has fewer; the i-th does not depend on n.
//
// The walk first takes size points of a quasi-random (Roberts' R7) sequence
// from a start the seed picks: each dimension steps by its own irrational
// fraction, so any prefix spreads evenly over every value of every
// dimension and over their pairs, where a plain mixed-radix count would run
// through the fastest dimension first and hold the others still. A sweep
// of the whole product in order then picks up the points the sequence
// missed, so a count as large as the product gets all of it.
func combos(seed int64, n int) []combo {
	size := productSize()
	r := rand.New(rand.NewPCG(uint64(seed), walkStream))
	start := make([]float64, len(product))
	for i := range start {
		start[i] = r.Float64()
	}
	alpha := r7()
	seen := map[combo]bool{}
	var out []combo
	add := func(c combo) {
		if c = normalise(c); !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for k := uint64(0); k < size && len(out) < n; k++ {
		v := make([]string, len(product))
		for i, d := range product {
			_, frac := math.Modf(start[i] + float64(float64(k)*alpha[i]))
			v[i] = d.values[int(frac*float64(len(d.values)))]
		}
		add(combo{types: v[0], target: v[1], peer: v[2], selector: v[3], port: v[4], protocol: v[5], action: v[6]})
	}
	for j := uint64(0); j < size && len(out) < n; j++ {
		add(decode(j))
	}
	return out
}

// r7 are the steps of Roberts' R-sequence in as many dimensions as the
// product has: 1/φ^1 ... 1/φ^d, where φ is the positive root of
// x^(d+1) = x + 1 (the golden ratio for d = 1). Only +, * and / are used,
// each rounded on its own (an explicit float64 conversion forbids fused
// multiply-adds), so the walk is the same on every platform.
func r7() []float64 {
	d := len(product)
	phi := 2.0
	for range 64 { // Newton's method on x^(d+1) - x - 1
		p := 1.0
		for range d {
			p = float64(p * phi)
		}
		f := float64(p*phi) - phi - 1
		df := float64(float64(d+1)*p) - 1
		phi -= f / df
	}
	out := make([]float64, d)
	step := 1.0
	for i := range out {
		step /= phi
		out[i] = step
	}
	return out
}
