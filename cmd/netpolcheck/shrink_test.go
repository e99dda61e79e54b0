package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/shrink"
)

// The acceptance of run --shrink, with the only broken enforcer a user can
// pick: a case fails without an enforcer, shrinks on that cluster to a
// smaller case written under shrunk/ in the report directory, and the line
// that says so names the replay command. Replayed from the file, the case
// fails again without an enforcer and passes with the reference one, so it
// is a real test of what failed and not a broken case.
func TestRunShrinkWritesAMinimalCaseThatReplayReproduces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck run builds a netns cluster: run as root")
	}
	const name = "deleting policies one by one narrows then lifts isolation"
	original, err := cases.ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	reportDir := filepath.Join(t.TempDir(), "reports")
	stdout, stderr, code := runNetpolcheck(t, "", "run", "--enforcer", "none", "--focus", "^"+name+"$", "--shrink", "--report-dir", reportDir)
	if code != exitFailed {
		t.Fatalf("run --shrink: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	path := filepath.Join(reportDir, shrunkDir, slug(name)+".yaml")
	shrunk := regexp.MustCompile(`(?m)^shrunk "` + regexp.QuoteMeta(name) + `" \(leak\) from size (\d+) to (\d+) in \d+ attempts, [^:]+: (.+)$`).FindStringSubmatch(stdout)
	if shrunk == nil || shrunk[3] != path || shrunk[1] == shrunk[2] {
		t.Fatalf("stdout does not say where the shrunk case is (want %s):\n%s", path, stdout)
	}
	if want := "reproduce: netpolcheck replay --enforcer none " + path + "\n"; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	minimal, err := cases.Unmarshal(path, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("size %s -> %s:\n%s", shrunk[1], shrunk[2], data)
	if minimal.Name != name+shrunkSuffix || len(minimal.Steps) != 1 || len(minimal.Steps[0].Actions) != 1 || shrink.Size(minimal) >= shrink.Size(original) {
		t.Errorf("not minimal: the first step's deny policy alone fails without an enforcer:\n%s", data)
	}

	stdout, stderr, code = runNetpolcheck(t, "", "replay", "--enforcer", "none", path, "--report-dir", filepath.Join(t.TempDir(), "r"))
	if code != exitFailed || !strings.Contains(stdout, "FAIL "+minimal.Name) {
		t.Errorf("replay --enforcer none: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	stdout, stderr, code = runNetpolcheck(t, "", "replay", path, "--report-dir", filepath.Join(t.TempDir(), "r"))
	if code != 0 || !strings.Contains(stdout, "1 case: 1 passed, 0 failed, 0 infrastructure errors") {
		t.Errorf("replay with the reference enforcer: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// Shrunk cases are named after the case, and the replay line repeats the
// flags that chose the cluster and the enforcer, quoted for a shell.
func TestShrunkFileNameAndReplayCommand(t *testing.T) {
	for name, want := range map[string]string{
		"upstream tcp: should support a 'default-deny-ingress' policy": "upstream-tcp-should-support-a-default-deny-ingress-policy",
		"x/a -> y/b":              "x-a-y-b",
		"!!!":                     "case",
		strings.Repeat("ab ", 50): strings.TrimSuffix(strings.Repeat("ab-", 27), "-"),
	} {
		if got := slug(name); got != want {
			t.Errorf("slug(%q) = %q, want %q", name, got, want)
		}
	}
	f := runFlags{cluster: "kind", enforcer: "manifests", enforcerManifests: "my plugin", cni: "builtin", denyAction: "reject"}
	if got, want := replayCommand(f, "r/shrunk/a.yaml"), "netpolcheck replay --cluster kind --enforcer manifests --enforcer-manifests 'my plugin' r/shrunk/a.yaml"; got != want {
		t.Errorf("replay command %q, want %q", got, want)
	}
	f = runFlags{cluster: "netns", enforcer: "reference", cni: "builtin", denyAction: "reject"}
	if got, want := replayCommand(f, "it's.yaml"), `netpolcheck replay 'it'\''s.yaml'`; got != want {
		t.Errorf("replay command %q, want %q", got, want)
	}
}
