package cases

import (
	"fmt"
	"slices"
	"testing"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// TestUpstreamScenariosMatchHandWrittenTables computes the model's truth
// table after every step of every case that carries hand tables (all 48
// upstream scenarios and most added cases) and compares it cell by cell with
// the hand table. The two are written independently: a disagreement is a
// bug in one of them, found by reading the API text and DESIGN.md's clauses.
func TestUpstreamScenariosMatchHandWrittenTables(t *testing.T) {
	checked := 0
	for _, s := range scenarios() {
		if s.Upstream != "" && s.want == nil {
			t.Errorf("case %q: upstream scenario without a hand table", s.Name)
		}
		if s.want == nil {
			continue
		}
		checked++
		t.Run(s.Name, func(t *testing.T) {
			for _, msg := range compareHandTables(s) {
				t.Error(msg)
			}
		})
	}
	if checked < 48 {
		t.Errorf("only %d cases carry hand tables, want at least the 48 upstream ones", checked)
	}
}

// compareHandTables replays a scenario against the model and returns one
// message per problem: a malformed grid, or a grid that differs from the
// model (with the side-by-side grids).
func compareHandTables(s scenario) []string {
	var msgs []string
	if len(s.want) != len(s.Steps) {
		return []string{fmt.Sprintf("case %q: %d steps but hand tables for %d", s.Name, len(s.Steps), len(s.want))}
	}
	state := StateFor(s.Case)
	for i, step := range s.Steps {
		where := fmt.Sprintf("case %q step %d (%s)", s.Name, i+1, step.Name)
		for _, a := range step.Actions {
			if err := state.Apply(a); err != nil {
				return append(msgs, fmt.Sprintf("%s: apply: %v", where, err))
			}
		}
		if len(s.want[i]) != len(step.Probes) {
			msgs = append(msgs, fmt.Sprintf("%s: %d probes but %d hand grids", where, len(step.Probes), len(s.want[i])))
			continue
		}
		table, err := model.TruthTable(state.Topology, state.Policies, step.Probes)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("%s: model: %v", where, err))
			continue
		}
		var tablePods []string
		for _, p := range table.Pods() {
			tablePods = append(tablePods, p.String())
		}
		for j, pp := range step.Probes {
			g, err := parseGrid(s.want[i][j])
			if err != nil {
				msgs = append(msgs, fmt.Sprintf("%s: hand grid %d: %v", where, j+1, err))
				continue
			}
			if g.port != pp {
				msgs = append(msgs, fmt.Sprintf("%s: hand grid %d is for %s but the step probes %s there", where, j+1, g.port, pp))
				continue
			}
			if !slices.Equal(g.pods, tablePods) {
				msgs = append(msgs, fmt.Sprintf("%s %s: hand grid pods %v, topology pods %v", where, pp, g.pods, tablePods))
				continue
			}
			got := make([][]model.Decision, len(g.pods))
			var wrong []string
			for r, from := range g.pods {
				for c, to := range g.pods {
					v, err := table.Lookup(from, to, pp)
					if err != nil {
						return append(msgs, fmt.Sprintf("%s: model lookup %s -> %s %s: %v", where, from, to, pp, err))
					}
					got[r] = append(got[r], v.Allowed)
					if v.Allowed != g.cells[r][c] {
						wrong = append(wrong, fmt.Sprintf("  cell %s -> %s on %s: hand table says %s, model says %s (ingress %s, egress %s)",
							from, to, pp, g.cells[r][c], v.Allowed, v.Ingress, v.Egress))
					}
				}
			}
			if len(wrong) > 0 {
				msg := fmt.Sprintf("%s on %s: hand table and model disagree in %d cells:\n", where, pp, len(wrong))
				for _, w := range wrong {
					msg += w + "\n"
				}
				msgs = append(msgs, msg+renderGrids(g.pods, g.cells, got))
			}
		}
	}
	return msgs
}

// TestHandTablesHoldOnIPv6 replays every case whose policies are built from
// pod IPs on an IPv6-only copy of its topology: the hand tables do not depend
// on the address family, so the model must give the same grids (NP-IPBLOCK
// with /128 host prefixes and a wide IPv6 prefix).
func TestHandTablesHoldOnIPv6(t *testing.T) {
	checked := 0
	for _, s := range scenarios() {
		if s.want == nil || !slices.Contains(s.Features, "ipblock") {
			continue
		}
		checked++
		v6 := s
		v6.Topology = CloneTopology(s.TopologyOrDefault())
		for i := range v6.Topology.Pods {
			v6.Topology.Pods[i].IP = fmt.Sprintf("fd00:10:244::%x", 0x10+i)
		}
		t.Run(s.Name, func(t *testing.T) {
			for _, msg := range compareHandTables(v6) {
				t.Error(msg)
			}
		})
	}
	if checked < 5 {
		t.Errorf("only %d ipBlock cases checked on IPv6", checked)
	}
}
