package faults

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// cell is one source, destination, port and protocol.
type cell struct {
	from, to model.PodRef
	pp       model.PortProtocol
}

func (c cell) String() string { return fmt.Sprintf("%s -> %s %s", c.from, c.to, c.pp) }

// probe is the cell as a matrix cell, with the destination's IP in topo.
func (c cell) probe(topo *model.Topology) (matrix.Cell, error) {
	for _, p := range topo.Pods {
		if p.Ref() == c.to && p.IP != "" {
			return matrix.Cell{From: c.from.String(), To: matrix.Target{Pod: c.to.String(), IP: p.IP}, Port: c.pp.Port, Protocol: string(c.pp.Protocol)}, nil
		}
	}
	return matrix.Cell{}, fmt.Errorf("cell %s: %s has no IP in the cluster", c, c.to)
}

// target is where a case's fault strikes.
type target struct {
	// cell must be denied after step 0's actions.
	cell cell
	// enforcers are the nodes whose enforcer denies cell: the destination's
	// for ingress, the source's for egress.
	enforcers []string
	// denied lists every cell of step 0 that must be denied.
	denied []cell
}

// pickTarget applies the case's first step to its state and asks the model
// for a cell that must be denied, between two running pods, preferring one
// across nodes (the path crosses both nodes and the bridge).
func pickTarget(c cases.Case) (target, error) {
	if len(c.Steps) == 0 {
		return target{}, fmt.Errorf("case %q has no step", c.Name)
	}
	state := cases.StateFor(c)
	for _, a := range c.Steps[0].Actions {
		if err := state.Apply(a); err != nil {
			return target{}, fmt.Errorf("case %q, step 0: %w", c.Name, err)
		}
	}
	table, err := model.TruthTable(state.Topology, state.Policies, c.Steps[0].Probes)
	if err != nil {
		return target{}, fmt.Errorf("case %q: %w", c.Name, err)
	}
	var live []model.Pod
	for _, p := range state.Topology.Pods {
		if p.IP != "" && (p.Phase == "" || p.Phase == corev1.PodRunning) {
			live = append(live, p)
		}
	}
	var t target
	found, crossNode := false, false
	for _, pp := range table.Ports() {
		for _, from := range live {
			for _, to := range live {
				if !to.Serves(pp) {
					continue
				}
				v, err := table.Verdict(from.Ref(), to.Ref(), pp)
				if err != nil {
					return target{}, fmt.Errorf("case %q: %w", c.Name, err)
				}
				if v.Allowed != model.Denied {
					continue
				}
				dc := cell{from: from.Ref(), to: to.Ref(), pp: pp}
				t.denied = append(t.denied, dc)
				across := from.Node != to.Node
				if from.Ref() == to.Ref() || (found && (crossNode || !across)) {
					continue
				}
				found, crossNode = true, across
				t.cell, t.enforcers = dc, nil
				if v.Ingress == model.Denied {
					t.enforcers = append(t.enforcers, to.Node)
				}
				if v.Egress == model.Denied && !slices.Contains(t.enforcers, from.Node) {
					t.enforcers = append(t.enforcers, from.Node)
				}
			}
		}
	}
	if !found {
		return target{}, fmt.Errorf("case %q: no cell of step 0 must be denied between two pods", c.Name)
	}
	if len(t.enforcers) == 0 || slices.Contains(t.enforcers, "") {
		return target{}, fmt.Errorf("case %q: cell %s has no node to enforce it", c.Name, t.cell)
	}
	return t, nil
}
