package reports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

// Comparison is where two runs disagree: the same case, step and cell,
// judged differently or reached differently.
type Comparison struct {
	A, B result.Run
	// Cells are the disagreeing cells, in A's case, step and cell order.
	Cells []CellDiff
	// OnlyA and OnlyB name the cases (or case steps, as "case / step") that
	// ran in one run only: nothing to compare there.
	OnlyA, OnlyB []string
	// Cases and CellsCompared count what was compared.
	Cases, CellsCompared int
}

// CellDiff is one cell of one step of one case in both runs.
type CellDiff struct {
	Case, Step string
	A, B       result.Cell
}

// Compare finds where runs a and b disagree. Cases match by name, steps by
// name within their case, cells by source, destination, port and protocol;
// a name that occurs twice matches its namesake of the same rank.
//
// Two cells disagree when the runs judged them differently (their
// comparison glyphs differ) or when one connected and the other did not.
// How a denial happened is not compared: one plugin rejects where another
// drops, and both conform.
func Compare(a, b *result.Set) Comparison {
	c := Comparison{A: a.Run, B: b.Run}
	bCases := map[occurrence]*result.Case{}
	for i, key := range occurrences(len(b.Cases), func(i int) string { return b.Cases[i].Name }) {
		bCases[key] = &b.Cases[i]
	}
	matchedB := map[occurrence]bool{}
	for i, key := range occurrences(len(a.Cases), func(i int) string { return a.Cases[i].Name }) {
		caseA, caseB := &a.Cases[i], bCases[key]
		if caseB == nil {
			c.OnlyA = append(c.OnlyA, caseA.Name)
			continue
		}
		matchedB[key] = true
		c.Cases++
		c.compareSteps(caseA, caseB)
	}
	for i, key := range occurrences(len(b.Cases), func(i int) string { return b.Cases[i].Name }) {
		if !matchedB[key] {
			c.OnlyB = append(c.OnlyB, b.Cases[i].Name)
		}
	}
	return c
}

// compareSteps compares the steps of one case in both runs. A failed case
// stops at its failed step, so the other run may hold steps this one lacks:
// those are listed as "case / step", as cells probed in one run only are
// listed as "case / step / cell".
func (c *Comparison) compareSteps(caseA, caseB *result.Case) {
	name := func(steps []result.Step) func(int) string { return func(i int) string { return steps[i].Name } }
	bSteps := map[occurrence]*result.Step{}
	for i, key := range occurrences(len(caseB.Steps), name(caseB.Steps)) {
		bSteps[key] = &caseB.Steps[i]
	}
	matchedB := map[occurrence]bool{}
	for i, key := range occurrences(len(caseA.Steps), name(caseA.Steps)) {
		stepA, stepB := &caseA.Steps[i], bSteps[key]
		where := caseA.Name + " / " + stepA.Name
		if stepB == nil {
			c.OnlyA = append(c.OnlyA, where)
			continue
		}
		matchedB[key] = true
		c.compareCells(caseA.Name, stepA, stepB)
	}
	for i, key := range occurrences(len(caseB.Steps), name(caseB.Steps)) {
		if !matchedB[key] {
			c.OnlyB = append(c.OnlyB, caseB.Name+" / "+caseB.Steps[i].Name)
		}
	}
}

// cellPlace is what a cell is matched by across runs.
type cellPlace struct {
	from, to model.PodRef
	port     model.PortProtocol
}

func placeOf(cell result.Cell) cellPlace { return cellPlace{cell.From, cell.To, cell.PortProtocol} }

func (c *Comparison) compareCells(caseName string, stepA, stepB *result.Step) {
	where := caseName + " / " + stepA.Name
	bCells := make(map[cellPlace]*result.Cell, len(stepB.Cells))
	for i := range stepB.Cells {
		bCells[placeOf(stepB.Cells[i])] = &stepB.Cells[i]
	}
	seen := make(map[cellPlace]bool, len(stepA.Cells))
	for i := range stepA.Cells {
		cellA := &stepA.Cells[i]
		place := placeOf(*cellA)
		cellB := bCells[place]
		if cellB == nil {
			c.OnlyA = append(c.OnlyA, where+" / "+cellA.Key())
			continue
		}
		seen[place] = true
		c.CellsCompared++
		if disagree(cellA, cellB) {
			c.Cells = append(c.Cells, CellDiff{Case: caseName, Step: stepA.Name, A: *cellA, B: *cellB})
		}
	}
	for _, cellB := range stepB.Cells {
		if !seen[placeOf(cellB)] {
			c.OnlyB = append(c.OnlyB, where+" / "+cellB.Key())
		}
	}
}

// disagree says whether two runs' versions of one cell tell a different
// story: judged differently, or connectivity differs.
func disagree(a, b *result.Cell) bool {
	return a.Glyph(result.Comparison) != b.Glyph(result.Comparison) ||
		(a.Observed == agent.Connected) != (b.Observed == agent.Connected)
}

// occurrence is a name and how many times it occurred before.
type occurrence struct {
	name string
	rank int
}

// occurrences keys n named things by name and rank, in order.
func occurrences(n int, name func(int) string) []occurrence {
	seen := map[string]int{}
	out := make([]occurrence, n)
	for i := range n {
		nm := name(i)
		out[i] = occurrence{nm, seen[nm]}
		seen[nm]++
	}
	return out
}

// DisagreeingCases counts the cases with at least one disagreeing cell.
func (c Comparison) DisagreeingCases() int {
	seen := map[string]bool{}
	for _, d := range c.Cells {
		seen[d.Case] = true
	}
	return len(seen)
}

// WriteComparison writes c as a text table: which runs, then one row per
// disagreeing cell with each run's expected decision, observed outcome and
// verdict, then what ran in one run only, then the count.
func WriteComparison(w io.Writer, c Comparison) error {
	var b strings.Builder
	fmt.Fprintf(&b, "A: %s\nB: %s\n", describeRun(c.A), describeRun(c.B))
	if len(c.Cells) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CASE\tSTEP\tCELL\tA (expected/observed/verdict)\tB (expected/observed/verdict)")
		for _, d := range c.Cells {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", comparisonText(d.Case), comparisonText(d.Step), d.A.Key(), cellStory(d.A), cellStory(d.B))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, only := range []struct {
		run   string
		names []string
	}{{"A", c.OnlyA}, {"B", c.OnlyB}} {
		if len(only.names) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nonly in %s:\n", only.run)
		for _, n := range only.names {
			b.WriteString("  " + comparisonText(n) + "\n")
		}
	}
	n, k := len(c.Cells), c.DisagreeingCases()
	fmt.Fprintf(&b, "\n%d %s of %d compared %s in %d %s\n",
		n, wordFor(n, "cell", "cells"), c.CellsCompared, wordFor(n, "disagrees", "disagree"), k, wordFor(k, "case", "cases"))
	_, err := io.WriteString(w, b.String())
	return err
}

// describeRun names a run in the comparison's header.
func describeRun(r result.Run) string {
	enforcer := strings.TrimSpace(r.Enforcer.Name + " " + r.Enforcer.Version)
	if enforcer == "" {
		enforcer = r.Enforcer.Kind
	}
	return fmt.Sprintf("%s, provider %s, run %s", enforcer, r.Provider, r.ID)
}

// verdictWords name the comparison glyphs.
var verdictWords = map[string]string{
	".": "match", "X": "wrong", "U": "unproven", "?": "not-judged", "L": "leaked",
}

// cellStory is a cell's expected decision, observed outcome and verdict.
func cellStory(cell result.Cell) string {
	observed := string(cell.Observed)
	if observed == "" {
		observed = "none"
	}
	return fmt.Sprintf("%s/%s/%s", cell.Expected, observed, verdictWords[cell.Glyph(result.Comparison)])
}

// comparisonText keeps a name on its table row: tabs would make new
// columns, newlines new rows.
func comparisonText(s string) string {
	return strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ").Replace(s)
}

// wordFor is the form of a word that agrees with n.
func wordFor(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
