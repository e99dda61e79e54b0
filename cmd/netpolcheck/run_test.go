package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

func TestRunListsSelectedCases(t *testing.T) {
	stdout, stderr, code := runNetpolcheck(t, "", "run", "--list", "--label-filter", "sctp && upstream")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("want the 3 upstream SCTP cases, got %d:\n%s", len(lines), stdout)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "upstream sctp: ") || !strings.Contains(l, "sctp") {
			t.Errorf("unexpected case %q", l)
		}
	}
}

// One case end to end on a netns cluster: it passes with the reference
// enforcer and fails, with its grids, without one.
func TestRunOneCaseWithAndWithoutEnforcer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck run builds a netns cluster: run as root")
	}
	focus := "^upstream tcp: should support a 'default-deny-ingress' policy$"
	reportDir := filepath.Join(t.TempDir(), "reports")
	stdout, stderr, code := runNetpolcheck(t, "", "run", "--focus", focus, "--report-dir", reportDir)
	if code != 0 || !strings.Contains(stdout, "1 case: 1 passed, 0 failed, 0 infrastructure errors") {
		t.Fatalf("with the reference enforcer: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// stderr is not a terminal: each phase and case is a plain line.
	for _, want := range []string{"creating netns cluster\n", "[1/1] 0 failed", "destroying cluster"} {
		if !strings.Contains(stderr, want) || strings.Contains(stderr, "\r") {
			t.Errorf("stderr lacks the plain progress line %q (or redraws): %q", want, stderr)
		}
	}
	set, err := reports.ReadFile(filepath.Join(reportDir, reports.JSONLName))
	if err != nil {
		t.Fatal(err)
	}
	if r := set.Run; r.Provider != "netns" || r.Enforcer.Kind != "reference" || r.Cluster == "" || r.Start.IsZero() || r.ID == "" || r.Kubernetes == "" {
		t.Errorf("run line %+v: want provider, cluster, enforcer, start, id and Kubernetes", r)
	}
	if len(set.Cases) != 1 || !set.Cases[0].Passed || set.Cases[0].Duration <= 0 || set.Outcome() != result.OutcomePassed {
		t.Errorf("results: %d cases, outcome %s", len(set.Cases), set.Outcome())
	}
	if !strings.Contains(stderr, "reports in "+reportDir+": results.jsonl, junit.xml, report.html, summary.md, conformance.yaml") {
		t.Errorf("stderr does not say where the reports are:\n%s", stderr)
	}

	stdout, stderr, code = runNetpolcheck(t, "", "run", "--focus", focus, "--enforcer", "none", "--report-dir", t.TempDir())
	if code != exitFailed {
		t.Fatalf("without an enforcer: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	for _, want := range []string{"FAIL upstream tcp", "| expected", "x/b -> x/a 80/TCP: expected denied, observed connected", "NP-ISO", "1 case: 0 passed, 1 failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}
