package reports

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

func coverageRow(t *testing.T, rows []CoverageRow, name string) CoverageRow {
	t.Helper()
	for _, r := range rows {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no row %q in %v", name, rows)
	return CoverageRow{}
}

// A case covers the clauses it lists and those its cells' reasons cite,
// but not what its reset step's cells cite; every clause has a row, in
// DESIGN.md's order; labels are counted per case, features before the
// generator's dimension labels.
func TestCoverageCountsListedAndCitedClauses(t *testing.T) {
	set := fixtureSet()
	// The reset step of a case that never got further cites NP-SELF: not
	// the case's coverage.
	reset := fixtureStep(result.ResetStep, []model.PodRef{fxA}, []model.PortProtocol{tcp80}, nil)
	reset.Cells[0].Reasons = []model.Reason{{Clause: model.ClauseSelf, Rule: -1, Peer: -1, PortIndex: -1, Text: "x/a reaches itself"}}
	set.Cases = append(set.Cases, result.Case{Name: "generated", Profile: result.ProfileExtended,
		Features: []string{"generated", "peer=ipblock", "generated", "ingress"}, Passed: true, Steps: []result.Step{reset}})

	cov := Coverage(set)
	if cov.Cases != 5 || cov.Passed != 3 {
		t.Errorf("%d cases, %d passed; want 5, 3", cov.Cases, cov.Passed)
	}
	var names []model.ClauseID
	for _, r := range cov.Clauses {
		names = append(names, model.ClauseID(r.Name))
	}
	if !slices.Equal(names, model.Clauses()) {
		t.Errorf("clause rows %v, want every clause in order %v", names, model.Clauses())
	}
	for _, want := range []CoverageRow{
		{"NP-ISO", 4, 2},      // listed by two cases, cited by the others' cells
		{"NP-PORT", 2, 0},     // listed by the failed and the errored case
		{"NP-NODE", 1, 1},     // listed and cited by the node case: counted once
		{"NP-SELF", 0, 0},     // cited only by a reset
		{"NP-IPBLOCK", 0, 0},  // a label says ipblock, no clause does
		{"NP-HOSTNET", 1, 1},  // listed only
		{"NP-PHASE", 0, 0},    // nobody
		{"NP-RULE", 2, 1},     // cited by the cells of denied cells only
		{"NP-BOTH", 0, 0},     // the fixture's reasons never cite it
		{"NP-SELECTOR", 0, 0}, // nor this
	} {
		if got := coverageRow(t, cov.Clauses, want.Name); got != want {
			t.Errorf("clause row %+v, want %+v", got, want)
		}
	}
	if got, want := cov.Uncovered(), []string{"NP-TYPES", "NP-ADD", "NP-BOTH", "NP-PEER-POD", "NP-PEER-NS", "NP-PEER-AND", "NP-IPBLOCK", "NP-NAMED", "NP-SELECTOR", "NP-SELF", "NP-PHASE"}; !slices.Equal(got, want) {
		t.Errorf("uncovered %v, want %v", got, want)
	}
	var labels []string
	for _, r := range cov.Labels {
		labels = append(labels, r.Name)
	}
	if want := []string{"default-deny", "egress", "generated", "host-network", "ingress", "named-port", "sctp", "peer=ipblock"}; !slices.Equal(labels, want) {
		t.Errorf("label rows %v, want %v", labels, want)
	}
	if got := coverageRow(t, cov.Labels, "ingress"); got != (CoverageRow{"ingress", 3, 2}) {
		t.Errorf("label row %+v, want ingress in 3 cases, 2 passed", got)
	}
	if got := coverageRow(t, cov.Labels, "generated"); got.Cases != 1 {
		t.Errorf("a label listed twice by one case counts once: %+v", got)
	}
}

// Coverage needs nothing beyond the JSON lines: the set read back from
// results.jsonl has the same coverage as the one written.
func TestCoverageComesFromTheJSONLines(t *testing.T) {
	set := fixtureSet()
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Run(set.Run); err != nil {
		t.Fatal(err)
	}
	for _, c := range set.Cases {
		if err := w.Case(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.End(*set.End); err != nil {
		t.Fatal(err)
	}
	read, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Coverage(read), Coverage(set); !reflect.DeepEqual(got, want) {
		t.Errorf("coverage from the JSON lines\n%+v\nwant\n%+v", got, want)
	}
}

// The text table is what run, replay and the suites print at their end.
func TestCoverageTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCoverage(&b, Coverage(fixtureSet())); err != nil {
		t.Fatal(err)
	}
	golden(t, "coverage.golden.txt", b.Bytes())
	if first, _, _ := strings.Cut(b.String(), "\n"); !strings.HasPrefix(first, "coverage of 4 cases (2 passed): 5 of 16 clauses, 6 labels; not covered: NP-TYPES,") {
		t.Errorf("headline %q", first)
	}
}

// A run that ran no case has no coverage section in its summary.
func TestMarkdownLeavesOutCoverageWithoutCases(t *testing.T) {
	set := fixtureSet()
	set.Cases = nil
	var b bytes.Buffer
	if err := WriteMarkdown(&b, set); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "## Coverage") {
		t.Errorf("a run without cases has a coverage section:\n%s", b.String())
	}
}
