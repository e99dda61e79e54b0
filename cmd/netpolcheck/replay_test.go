package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// A library case exported as YAML and replayed from the file runs as run
// runs it: on a netns cluster it passes with the reference enforcer, and
// without an enforcer it fails on the same cells as run --focus. The case
// updates an ipBlock policy that names pods, so the pods' addresses are
// resolved from the cluster on both paths.
func TestExportedCaseReplaysAsRunRunsIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck replay builds a netns cluster: run as root")
	}
	const name = "upstream tcp: should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed"
	exported, stderr, code := runNetpolcheck(t, "", "run", "--export-case", name)
	if code != 0 || !strings.Contains(exported, "{{podCIDR x/b /32 /128}}") || !strings.Contains(exported, "updatePolicy:") {
		t.Fatalf("--export-case: exit %d, stderr %q, output:\n%s", code, stderr, exported)
	}
	file := filepath.Join(t.TempDir(), "case.yaml")
	if err := os.WriteFile(file, []byte(exported), 0o644); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runNetpolcheck(t, "", "replay", file, "--report-dir", filepath.Join(t.TempDir(), "r"))
	if code != 0 || !strings.Contains(stdout, "1 case: 1 passed, 0 failed, 0 infrastructure errors") {
		t.Fatalf("replay with the reference enforcer: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	wrong := func(args ...string) []string {
		t.Helper()
		results := filepath.Join(t.TempDir(), "results.jsonl")
		args = append(args, "--enforcer", "none", "--results", results, "--report-dir", filepath.Join(t.TempDir(), "r"))
		stdout, stderr, code := runNetpolcheck(t, "", args...)
		if code != exitFailed || !strings.Contains(stdout, "FAIL "+name) {
			t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, exitFailed, stdout, stderr)
		}
		set, err := reports.ReadFile(results)
		if err != nil || len(set.Cases) != 1 {
			t.Fatalf("%q: want one case in %s: %v", args, results, err)
		}
		if want := strings.Join(args[:1], ""); set.Run.Suite != "netpolcheck "+want {
			t.Errorf("%q: suite %q, want netpolcheck %s", args, set.Run.Suite, want)
		}
		steps := set.Cases[0].Steps
		return append([]string{steps[len(steps)-1].Name}, wrongCells(steps[len(steps)-1])...)
	}
	replayed := wrong("replay", file)
	ran := wrong("run", "--focus", name)
	if len(replayed) < 2 || !slices.Equal(replayed, ran) {
		t.Errorf("replay fails at %v, run at %v", replayed, ran)
	}
}

// What export writes is the case's YAML, and replay refuses a bad file, a
// missing one, duplicate names and bad flags before building anything:
// one line, exit 2.
func TestReplayRefusesBadInputUpFront(t *testing.T) {
	const name = "upstream tcp: should support a 'default-deny-ingress' policy"
	c, err := cases.ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cases.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, stderr, code := runNetpolcheck(t, "", "run", "--export-case", name); code != 0 || got != string(want) {
		t.Errorf("--export-case: exit %d, stderr %q, output differs from cases.Marshal:\n%s", code, stderr, got)
	}
	good := string(want)
	bad := strings.Replace(good, "createPolicy:", "createPolicyy:", 1)
	dir := writeFiles(t, map[string]string{"good.yaml": good, "bad.yaml": bad})
	f := func(n string) string { return filepath.Join(dir, n) }
	for _, tc := range []struct {
		want string
		args []string
	}{
		{f("bad.yaml") + `: step 1 action 1: unknown action key "createPolicyy"`, []string{"replay", f("bad.yaml")}},
		{f("absent.yaml") + ": no such file or directory", []string{"replay", f("absent.yaml")}},
		{`case "` + name + `" is also in ` + f("good.yaml"), []string{"replay", f("good.yaml"), f("good.yaml")}},
		{"replay: give one or more case files", []string{"replay"}},
		{`--cluster "nope": want one of netns`, []string{"replay", f("good.yaml"), "--cluster", "nope"}},
		{"--export-case and --list exclude each other", []string{"run", "--export-case", name, "--list"}},
		{`--export-case "nope": no case has this name`, []string{"run", "--export-case", "nope"}},
		{"--export-case writes case YAML: drop -o json", []string{"run", "--export-case", name, "-o", "json"}},
	} {
		oneLineExit(t, exitBadInput, tc.want, tc.args...)
	}
	// A case from stdin.
	if _, stderr, code := runNetpolcheck(t, bad, "replay", "-"); code != exitBadInput || !strings.Contains(stderr, "stdin: step 1 action 1") {
		t.Errorf("replay - with a bad case: exit %d, stderr %q", code, stderr)
	}
}
