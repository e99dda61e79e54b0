package model

import (
	"fmt"
	"iter"

	networkingv1 "k8s.io/api/networking/v1"
)

// Table is the truth table of a topology under a set of policies: a decision
// for every ordered pod pair (self pairs included) on every port. Reasons are
// computed on demand by Explain.
type Table struct {
	w       *world
	ps      []*policyInfo
	pods    []PodRef
	ports   []PortProtocol
	portIdx map[PortProtocol]int
	codes   [][]uint8 // [port][from*n+to]: ingress code | egress code<<2
}

// Cell is one entry of a Table.
type Cell struct {
	From, To PodRef
	Port     PortProtocol
	Ingress  Decision
	Egress   Decision
	Allowed  Decision
}

// TruthTable computes the table for the given ports; nil ports means the
// topology's own (Topology.PortProtocols). Invalid policies are refused with
// an error naming the policy.
func TruthTable(topo *Topology, policies []*networkingv1.NetworkPolicy, ports []PortProtocol) (*Table, error) {
	w, err := newWorld(topo)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	ps, err := w.parsePolicies(policies)
	if err != nil {
		return nil, err
	}
	if ports == nil {
		ports = topo.PortProtocols()
	}
	t := &Table{w: w, ps: ps, ports: append([]PortProtocol(nil), ports...), portIdx: map[PortProtocol]int{}}
	for i, pp := range t.ports {
		pp.Protocol = defaultProtocol(pp.Protocol)
		if protocolRank(pp.Protocol) == len(protocols) || pp.Port < 1 || pp.Port > 65535 {
			return nil, fmt.Errorf("table port %s: want a port from 1 to 65535 on TCP, UDP or SCTP", pp)
		}
		if _, dup := t.portIdx[pp]; dup {
			return nil, fmt.Errorf("table port %s given twice", pp)
		}
		t.ports[i] = pp
		t.portIdx[pp] = i
	}
	for _, p := range w.pods {
		t.pods = append(t.pods, p.Ref())
	}
	c := newCompiler(w)
	in, eg := c.compile(ps, t.ports)
	n := len(w.pods)
	t.codes = make([][]uint8, len(t.ports))
	for k := range t.ports {
		t.codes[k] = make([]uint8, n*n)
		c.cells(in, eg, k, t.codes[k])
	}
	return t, nil
}

// Pods returns the table's pods, sorted by namespace, then name.
func (t *Table) Pods() []PodRef { return append([]PodRef(nil), t.pods...) }

// Ports returns the table's ports in table order.
func (t *Table) Ports() []PortProtocol { return append([]PortProtocol(nil), t.ports...) }

func (t *Table) index(from, to PodRef, pp PortProtocol) (k, i int, err error) {
	pp.Protocol = defaultProtocol(pp.Protocol)
	k, ok := t.portIdx[pp]
	if !ok {
		return 0, 0, fmt.Errorf("port %s is not in the table", pp)
	}
	s, err := t.w.lookup(from)
	if err != nil {
		return 0, 0, fmt.Errorf("from: %w", err)
	}
	d, err := t.w.lookup(to)
	if err != nil {
		return 0, 0, fmt.Errorf("to: %w", err)
	}
	return k, s*len(t.pods) + d, nil
}

// Verdict returns the decisions of one cell, without reasons (see Explain).
func (t *Table) Verdict(from, to PodRef, pp PortProtocol) (Verdict, error) {
	k, i, err := t.index(from, to, pp)
	if err != nil {
		return Verdict{}, err
	}
	code := t.codes[k][i]
	in, eg := codeDecision[code&3], codeDecision[code>>2]
	return Verdict{Ingress: in, Egress: eg, Allowed: Combine(in, eg)}, nil
}

// Lookup is Verdict with pods written as "namespace/name".
func (t *Table) Lookup(from, to string, pp PortProtocol) (Verdict, error) {
	f, err := ParsePodRef(from)
	if err != nil {
		return Verdict{}, err
	}
	d, err := ParsePodRef(to)
	if err != nil {
		return Verdict{}, err
	}
	return t.Verdict(f, d, pp)
}

// Explain evaluates one cell with all its reasons (the slow, clause-by-clause path).
func (t *Table) Explain(from, to PodRef, pp PortProtocol) (Verdict, error) {
	return t.w.evaluate(t.ps, Traffic{From: Endpoint{Pod: &from}, To: to, Port: pp.Port, Protocol: pp.Protocol})
}

// All yields every cell: pods sorted by namespace/name (from, then to), then
// ports in table order.
func (t *Table) All() iter.Seq[Cell] {
	return func(yield func(Cell) bool) {
		n := len(t.pods)
		for s := 0; s < n; s++ {
			for d := 0; d < n; d++ {
				for k, pp := range t.ports {
					code := t.codes[k][s*n+d]
					in, eg := codeDecision[code&3], codeDecision[code>>2]
					if !yield(Cell{From: t.pods[s], To: t.pods[d], Port: pp, Ingress: in, Egress: eg, Allowed: Combine(in, eg)}) {
						return
					}
				}
			}
		}
	}
}

// Cells returns every cell in the order of All.
func (t *Table) Cells() []Cell {
	out := make([]Cell, 0, len(t.pods)*len(t.pods)*len(t.ports))
	for c := range t.All() {
		out = append(out, c)
	}
	return out
}

// Len is the number of cells.
func (t *Table) Len() int { return len(t.pods) * len(t.pods) * len(t.ports) }
