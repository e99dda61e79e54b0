package cases

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/reports/result"

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
		for j, pp := range step.Probes {
			hand, err := result.ParseGrid(s.want[i][j])
			if err != nil {
				msgs = append(msgs, fmt.Sprintf("%s: hand grid %d: %v", where, j+1, err))
				continue
			}
			if hand.Port != pp {
				msgs = append(msgs, fmt.Sprintf("%s: hand grid %d is for %s but the step probes %s there", where, j+1, hand.Port, pp))
				continue
			}
			if !slices.Equal(hand.Pods, table.Pods()) {
				msgs = append(msgs, fmt.Sprintf("%s %s: hand grid pods %v, topology pods %v", where, pp, hand.Pods, table.Pods()))
				continue
			}
			got, err := result.ExpectedGrid(table, pp)
			if err != nil {
				return append(msgs, fmt.Sprintf("%s: model %s: %v", where, pp, err))
			}
			if msg := diffGrids(hand, got); msg != "" {
				msgs = append(msgs, fmt.Sprintf("%s on %s: %s", where, pp, msg))
			}
		}
	}
	return msgs
}

// diffGrids lists the cells where the hand grid and the model's differ,
// with the model's argument, then both grids and their comparison side by
// side ("" when they agree).
func diffGrids(hand, got result.Grid) string {
	var wrong []string
	compare := result.NewGrid(hand.Port, hand.Pods)
	for r := range hand.Pods {
		for c := range hand.Pods {
			h, m := hand.Cell(r, c), got.Cell(r, c)
			// The comparison view reads a judged cell's Match: "." agree, "X" not.
			_ = compare.Set(result.Cell{From: m.From, To: m.To, PortProtocol: m.PortProtocol, Expected: model.Allowed, Match: h.Expected == m.Expected})
			if h.Expected == m.Expected {
				continue
			}
			line := fmt.Sprintf("  cell %s: hand table says %s, model says %s", m.Key(), h.Expected, m.Expected)
			for _, reason := range m.Reasons {
				line += fmt.Sprintf("\n      %s %s %s", reason.Direction, reason.Clause, reason.Text)
			}
			wrong = append(wrong, line)
		}
	}
	if len(wrong) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hand table and model disagree in %d cells:\n%s\n", len(wrong), strings.Join(wrong, "\n"))
	_ = result.WriteGrids(&b, result.Block{Title: "hand table", Grid: hand, View: result.Expected},
		result.Block{Title: "model", Grid: got, View: result.Expected},
		result.Block{Title: "comparison", Grid: compare, View: result.Comparison})
	return b.String()
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
