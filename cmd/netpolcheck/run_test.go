package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	results := filepath.Join(t.TempDir(), "results.jsonl")
	stdout, stderr, code := runNetpolcheck(t, "", "run", "--focus", focus, "--results", results)
	if code != 0 || !strings.Contains(stdout, "1 case: 1 passed, 0 failed, 0 infrastructure errors") {
		t.Fatalf("with the reference enforcer: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// stderr is not a terminal: each phase and case is a plain line.
	for _, want := range []string{"creating netns cluster\n", "[1/1] 0 failed", "destroying cluster"} {
		if !strings.Contains(stderr, want) || strings.Contains(stderr, "\r") {
			t.Errorf("stderr lacks the plain progress line %q (or redraws): %q", want, stderr)
		}
	}
	header, data := readResults(t, results)
	if header.Provider != "netns" || header.Enforcer != "reference" || header.Cluster == "" || header.Start == "" {
		t.Errorf("results header %+v: want provider, cluster, enforcer and start", header)
	}
	var res struct {
		Name     string `json:"name"`
		Passed   bool   `json:"passed"`
		Duration string `json:"duration"`
	}
	if err := json.Unmarshal(data, &res); err != nil || !res.Passed {
		t.Errorf("results file: %v %+v\n%s", err, res, data)
	}
	if _, err := time.ParseDuration(res.Duration); err != nil {
		t.Errorf("duration %q is not a Go duration: %v", res.Duration, err)
	}

	stdout, stderr, code = runNetpolcheck(t, "", "run", "--focus", focus, "--enforcer", "none")
	if code != exitFailed {
		t.Fatalf("without an enforcer: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	for _, want := range []string{"FAIL upstream tcp", "| expected", "x/b -> x/a 80/TCP: expected denied, observed connected", "NP-ISO", "1 case: 0 passed, 1 failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

// readResults splits a --results file into its header line and the rest
// (one JSON result per line).
func readResults(t *testing.T, path string) (resultsHeader, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	var header struct {
		Run resultsHeader `json:"run"`
	}
	if err := json.Unmarshal(first, &header); err != nil {
		t.Fatalf("results header %q: %v", first, err)
	}
	return header.Run, rest
}
