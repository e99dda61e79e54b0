package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The summary of the fixture run, complete and killed, matches its golden
// file; testdata/summary*.golden.md are the files to read when changing the
// format.
func TestMarkdownGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		set  *result.Set
	}{
		{"summary.golden.md", fixtureSet()},
		{"summary-incomplete.golden.md", incompleteFixtureSet()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteMarkdown(&b, tc.set); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

// The title carries the set's own outcome, never one of the summary's.
func TestMarkdownTitleIsTheOutcome(t *testing.T) {
	allPassed := fixtureSet()
	allPassed.Cases = []result.Case{allPassed.Cases[0], allPassed.Cases[3]}
	allPassed.Run.Selected = 2
	interrupted := fixtureSet()
	interrupted.End.Interrupted = "running case 4"
	for _, tc := range []struct {
		set  *result.Set
		want string
	}{
		{fixtureSet(), "# netpolcheck: error\n"}, // an error outranks a failure, as in the exit code
		{allPassed, "# netpolcheck: passed\n"},
		{incompleteFixtureSet(), "# netpolcheck: INCOMPLETE\n"},
		{interrupted, "# netpolcheck: INCOMPLETE\n"},
	} {
		var b bytes.Buffer
		if err := WriteMarkdown(&b, tc.set); err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(b.String(), "\n"); first+"\n" != tc.want {
			t.Errorf("outcome %s: title %q, want %q", tc.set.Outcome(), first, tc.want)
		}
	}
}

// A case name or message with a "|" or a newline stays in its table cell,
// and markup characters show as written.
func TestMarkdownEscapesTableCells(t *testing.T) {
	set := fixtureSet()
	set.Cases[1].Name = "a | b_c"
	set.Cases[1].Failure = "first line\nsecond *line*"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, set); err != nil {
		t.Fatal(err)
	}
	want := `| a \| b\_c | core | 2 | first line<br>second \*line\* |`
	if !strings.Contains(b.String(), want+"\n") {
		t.Errorf("summary lacks the escaped row %s:\n%s", want, b.String())
	}
}

// Percentiles are nearest-rank: always a measured value.
func TestMarkdownPercentileIsNearestRank(t *testing.T) {
	sorted := []time.Duration{*ms(10), *ms(20), *ms(30), *ms(40)}
	for _, tc := range []struct{ p, want int }{{50, 20}, {90, 40}, {100, 40}, {1, 10}} {
		if got := percentile(sorted, tc.p); got != *ms(tc.want) {
			t.Errorf("p%d of %v = %s, want %dms", tc.p, sorted, got, tc.want)
		}
	}
}

// A run that failed says why under the title, and a failed preflight,
// recorded as the run's error as well, says it once.
func TestMarkdownSaysWhyTheRunFailed(t *testing.T) {
	preflight := fixtureSet()
	preflight.Cases, preflight.Run.Selected = nil, 4
	preflight.Preflight.Passed = false
	preflight.Preflight.Error = result.Errorf(result.ErrorCluster, "the canary was not enforced within 30s")
	preflight.End.Error = result.Errorf(result.ErrorCluster, "the canary was not enforced within 30s")
	destroy := fixtureSet()
	destroy.End.Error = result.Errorf(result.ErrorCluster, "destroy the cluster: timeout")
	for _, tc := range []struct {
		name string
		set  *result.Set
		want string
	}{
		{"preflight", preflight, "**The preflight did not pass:** cluster: the canary was not enforced within 30s\n"},
		{"run", destroy, "**The run failed:** cluster: destroy the cluster: timeout\n"},
	} {
		var b bytes.Buffer
		if err := WriteMarkdown(&b, tc.set); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(b.String(), "the canary"); tc.name == "preflight" && n != 1 {
			t.Errorf("%s: the reason appears %d times, want once:\n%s", tc.name, n, b.String())
		}
		if !strings.Contains(b.String(), tc.want) || !strings.HasPrefix(b.String(), "# netpolcheck: error\n") {
			t.Errorf("%s: want the title error and %q:\n%s", tc.name, tc.want, b.String())
		}
	}
}
