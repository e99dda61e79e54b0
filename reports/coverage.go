package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

// Coverage says which spec clauses and which labels (features and the
// generator's dimensions, such as "peer=ipblock") the cases of a run
// exercised, and how many of those cases passed: a run that passes but
// never touched NP-NAMED says nothing about named ports.
//
// It is part of the results without a record of its own: everything it
// counts is in results.jsonl already (each case's labels and clauses, and
// the clauses of its cells' reasons), so any run's coverage can be
// computed again from its JSONL, as netpolcheck report does for summary.md.

// CoverageTable is a run's coverage.
type CoverageTable struct {
	// Cases counts the cases that ran, Passed those that passed.
	Cases  int `json:"cases"`
	Passed int `json:"passed"`
	// Clauses has a row for every clause of the spec, in DESIGN.md's
	// order, covered or not.
	Clauses []CoverageRow `json:"clauses"`
	// Labels has a row for every label a case that ran carried: features
	// first, then the dimension labels (dimension=value), each by name.
	Labels []CoverageRow `json:"labels"`
}

// CoverageRow counts the cases that exercised one clause or carried one
// label, and those of them that passed.
type CoverageRow struct {
	Name   string `json:"name"`
	Cases  int    `json:"cases"`
	Passed int    `json:"passed"`
}

// Coverage computes the coverage of the cases of set. A case covers a
// clause it lists, or that a reason of one of its cells cites (the reset
// before its first step aside: it tests the topology, not the case).
func Coverage(set *result.Set) CoverageTable {
	t := CoverageTable{}
	clauses := map[string]*CoverageRow{}
	for _, id := range model.Clauses() {
		clauses[string(id)] = &CoverageRow{Name: string(id)}
	}
	labels := map[string]*CoverageRow{}
	count := func(rows map[string]*CoverageRow, name string, passed bool) {
		row, ok := rows[name]
		if !ok {
			row = &CoverageRow{Name: name}
			rows[name] = row
		}
		row.Cases++
		if passed {
			row.Passed++
		}
	}
	for _, c := range set.Cases {
		passed := c.Verdict() == result.Passed
		t.Cases++
		if passed {
			t.Passed++
		}
		for _, f := range uniq(c.Features) {
			count(labels, f, passed)
		}
		for _, id := range caseClauses(c) {
			count(clauses, id, passed)
		}
	}
	for _, id := range model.Clauses() {
		t.Clauses = append(t.Clauses, *clauses[string(id)])
		delete(clauses, string(id))
	}
	// A clause the model does not know (results of another version) still
	// counts, after the known ones.
	for _, name := range sortedRowNames(clauses) {
		t.Clauses = append(t.Clauses, *clauses[name])
	}
	for _, name := range sortedRowNames(labels) {
		t.Labels = append(t.Labels, *labels[name])
	}
	slices.SortStableFunc(t.Labels, func(a, b CoverageRow) int {
		return boolCompare(isDimension(a.Name), isDimension(b.Name))
	})
	return t
}

// caseClauses are the clauses a case lists and its cells' reasons cite.
func caseClauses(c result.Case) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id model.ClauseID) {
		if id != "" && !seen[string(id)] {
			seen[string(id)] = true
			out = append(out, string(id))
		}
	}
	for _, id := range c.Clauses {
		add(id)
	}
	for _, s := range c.Steps {
		if s.Name == result.ResetStep {
			continue
		}
		for _, cell := range s.Cells {
			for _, r := range cell.Reasons {
				add(r.Clause)
			}
		}
	}
	return out
}

// Uncovered lists the clauses no case exercised.
func (t CoverageTable) Uncovered() []string {
	var out []string
	for _, r := range t.Clauses {
		if r.Cases == 0 {
			out = append(out, r.Name)
		}
	}
	return out
}

// headline is the table's one-line summary.
func (t CoverageTable) headline() string {
	s := fmt.Sprintf("coverage of %s (%d passed): %d of %d clauses, %s",
		wordFor(t.Cases, "1 case", fmt.Sprintf("%d cases", t.Cases)), t.Passed,
		len(t.Clauses)-len(t.Uncovered()), len(t.Clauses), wordFor(len(t.Labels), "1 label", fmt.Sprintf("%d labels", len(t.Labels))))
	if u := t.Uncovered(); len(u) > 0 {
		s += "; not covered: " + strings.Join(u, ", ")
	}
	return s
}

// WriteCoverage writes the table as aligned text: the headline, then a
// row per clause and per label with the cases that exercised it and how
// many of them passed. netpolcheck run and replay, and the Ginkgo suites,
// print it at their end.
func WriteCoverage(w io.Writer, t CoverageTable) error {
	if _, err := fmt.Fprintln(w, t.headline()); err != nil {
		return err
	}
	// Names to the left, counts to the right: tabwriter aligns every
	// column alike, so the counts come padded to their headers' width.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rows := func(header string, rs []CoverageRow) {
		fmt.Fprintf(tw, "  %s\tcases\tpassed\n", header)
		for _, r := range rs {
			fmt.Fprintf(tw, "  %s\t%5d\t%6d\n", r.Name, r.Cases, r.Passed)
		}
	}
	rows("clause", t.Clauses)
	if len(t.Labels) > 0 {
		rows("label", t.Labels)
	}
	return tw.Flush()
}

// writeCoverage is the summary's Coverage section: the clauses in a table,
// the labels folded away (a generated run has dozens). A run without
// cases has none.
func writeCoverage(b *strings.Builder, set *result.Set) {
	t := Coverage(set)
	if t.Cases == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Coverage\n\n%d of %d clauses exercised by the %s that ran",
		len(t.Clauses)-len(t.Uncovered()), len(t.Clauses), wordFor(t.Cases, "case", fmt.Sprintf("%d cases", t.Cases)))
	if u := t.Uncovered(); len(u) > 0 {
		fmt.Fprintf(b, "; not covered: %s", strings.Join(u, ", "))
	}
	b.WriteString(".\n")
	var rows []string
	for _, r := range t.Clauses {
		rows = append(rows, tableRow(tableCell(r.Name), fmt.Sprint(r.Cases), fmt.Sprint(r.Passed)))
	}
	writeTable(b, "", []string{"clause", "cases", "passed"}, "|---|---:|---:|", rows)
	if len(t.Labels) == 0 {
		return
	}
	rows = rows[:0]
	for _, r := range t.Labels {
		rows = append(rows, tableRow(code(r.Name), fmt.Sprint(r.Cases), fmt.Sprint(r.Passed)))
	}
	fmt.Fprintf(b, "\n<details><summary>%s</summary>\n", wordFor(len(t.Labels), "1 label", fmt.Sprintf("%d labels", len(t.Labels))))
	writeTable(b, "", []string{"label", "cases", "passed"}, "|---|---:|---:|", rows)
	b.WriteString("\n</details>\n")
}

// isDimension says whether a label is a generator's dimension=value.
func isDimension(label string) bool { return strings.Contains(label, "=") }

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func sortedRowNames(rows map[string]*CoverageRow) []string {
	var out []string
	for name := range rows {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func uniq(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
