package reports

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The cell the Compare tests change: x/b -> x/a on 80/TCP in the first step
// of the passing case, expected denied and observed rejected.
const (
	changedCase = "ingress deny-all in x"
	changedStep = "deny all ingress to x/a"
	changedCell = "x/b -> x/a 80/TCP"
	// missingCase is the case the tests drop from run B.
	missingCase = "named port resolves per pod"
)

// fixtureCell returns the cell of set at case, step and key.
func fixtureCell(t *testing.T, set *result.Set, caseName, step, key string) *result.Cell {
	t.Helper()
	for i := range set.Cases {
		for j := range set.Cases[i].Steps {
			s := &set.Cases[i].Steps[j]
			if set.Cases[i].Name != caseName || s.Name != step {
				continue
			}
			for k := range s.Cells {
				if s.Cells[k].Key() == key {
					return &s.Cells[k]
				}
			}
		}
	}
	t.Fatalf("no cell %s in %s / %s", key, caseName, step)
	return nil
}

// cellCount counts the cells of set's cases, but for those named skip.
func cellCount(set *result.Set, skip ...string) int {
	n := 0
	for _, c := range set.Cases {
		if slices.Contains(skip, c.Name) {
			continue
		}
		for _, s := range c.Steps {
			n += len(s.Cells)
		}
	}
	return n
}

// Each row changes a copy of the fixture run into run B and says which
// cells, cases and steps Compare must report.
func TestCompare(t *testing.T) {
	leakInB := func(t *testing.T, b *result.Set) {
		c := fixtureCell(t, b, changedCase, changedStep, changedCell)
		c.Observed, c.Match, c.TimeToEnforce = agent.Connected, false, nil
	}
	dropCaseInB := func(t *testing.T, b *result.Set) {
		b.Cases = slices.DeleteFunc(b.Cases, func(c result.Case) bool { return c.Name == missingCase })
		b.Run.Selected--
	}
	whole := cellCount(fixtureSet())
	for _, tc := range []struct {
		name         string
		changeB      func(t *testing.T, b *result.Set)
		wantCells    []string // "case / step / cell"
		onlyA, onlyB []string
		cases, cells int
		// goldenFile, when set, holds WriteComparison's text of the result.
		goldenFile string
	}{
		{name: "identical runs agree", changeB: func(*testing.T, *result.Set) {}, cases: 4, cells: whole},
		{name: "rejected and timed out both deny: no disagreement", changeB: func(t *testing.T, b *result.Set) {
			c := fixtureCell(t, b, changedCase, changedStep, changedCell)
			if c.Observed != agent.Rejected || !c.Match {
				t.Fatalf("the fixture changed: %s is %s, match %v; want rejected, matching", changedCell, c.Observed, c.Match)
			}
			c.Observed = agent.Timeout
		}, cases: 4, cells: whole},
		{name: "a denied cell that connects is the one disagreement", changeB: leakInB,
			wantCells: []string{changedCase + " / " + changedStep + " / " + changedCell}, cases: 4, cells: whole},
		{name: "an undefined cell reached in A only: both unjudged, still a disagreement", changeB: func(t *testing.T, b *result.Set) {
			c := fixtureCell(t, b, "the node reaches its pods", "deny all ingress in x", "y/host -> x/a 80/TCP")
			if c.Judged() || c.Observed != agent.Connected {
				t.Fatalf("the fixture changed: %s is %s, observed %s; want undefined, connected", c.Key(), c.Expected, c.Observed)
			}
			c.Observed = agent.Timeout
		}, wantCells: []string{"the node reaches its pods / deny all ingress in x / y/host -> x/a 80/TCP"}, cases: 4, cells: whole},
		{name: "a case missing from B", changeB: dropCaseInB,
			onlyA: []string{missingCase}, cases: 3, cells: cellCount(fixtureSet(), missingCase)},
		{name: "a step only in B", changeB: func(t *testing.T, b *result.Set) {
			c := &b.Cases[3]
			extra := c.Steps[0]
			extra.Name = "allow it again"
			c.Steps = append(c.Steps, extra)
		}, onlyB: []string{"the node reaches its pods / allow it again"}, cases: 4, cells: whole},
		{name: "a cell probed in A only", changeB: func(t *testing.T, b *result.Set) {
			s := &b.Cases[0].Steps[1]
			s.Cells = s.Cells[1:]
		}, onlyA: []string{changedCase + " / nothing changes / x/a -> x/a 80/TCP"}, cases: 4, cells: whole - 1},
		{name: "a leak and a missing case", changeB: func(t *testing.T, b *result.Set) { leakInB(t, b); dropCaseInB(t, b) },
			wantCells: []string{changedCase + " / " + changedStep + " / " + changedCell},
			onlyA:     []string{missingCase}, cases: 3, cells: cellCount(fixtureSet(), missingCase),
			goldenFile: "compare.golden.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fixtureSet(), fixtureSet()
			b.Run.ID, b.Run.Enforcer.Name, b.Run.Enforcer.Version = "20261130-090000-npc-other", "other-plugin", "v2.0.0"
			tc.changeB(t, b)
			got := Compare(a, b)

			var cells []string
			for _, d := range got.Cells {
				cells = append(cells, d.Case+" / "+d.Step+" / "+d.A.Key())
				if d.A.Key() != d.B.Key() {
					t.Errorf("a diff pairs %s with %s", d.A.Key(), d.B.Key())
				}
			}
			if !reflect.DeepEqual(cells, tc.wantCells) {
				t.Errorf("disagreeing cells %q, want %q", cells, tc.wantCells)
			}
			if !reflect.DeepEqual(got.OnlyA, tc.onlyA) || !reflect.DeepEqual(got.OnlyB, tc.onlyB) {
				t.Errorf("only in A %q, only in B %q; want %q and %q", got.OnlyA, got.OnlyB, tc.onlyA, tc.onlyB)
			}
			if got.Cases != tc.cases || got.CellsCompared != tc.cells {
				t.Errorf("compared %d cases and %d cells, want %d and %d", got.Cases, got.CellsCompared, tc.cases, tc.cells)
			}
			if got.A.ID != a.Run.ID || got.B.ID != b.Run.ID {
				t.Errorf("runs %s and %s, want %s and %s", got.A.ID, got.B.ID, a.Run.ID, b.Run.ID)
			}
			// Swapping the runs swaps the sides, not the verdict.
			back := Compare(b, a)
			if len(back.Cells) != len(got.Cells) || !reflect.DeepEqual(back.OnlyA, got.OnlyB) || !reflect.DeepEqual(back.OnlyB, got.OnlyA) {
				t.Errorf("Compare(b, a) is not the mirror of Compare(a, b):\n%+v\n%+v", back, got)
			}

			if tc.goldenFile != "" {
				var out bytes.Buffer
				if err := WriteComparison(&out, got); err != nil {
					t.Fatal(err)
				}
				golden(t, tc.goldenFile, out.Bytes())
			}
		})
	}
}
