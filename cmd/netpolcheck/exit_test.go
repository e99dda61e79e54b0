package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

// oneLineExit runs the CLI and checks that it exits with code and prints
// exactly one line on stderr, free of terminal escapes, containing want.
func oneLineExit(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	_, stderr, got := runNetpolcheck(t, "", args...)
	if got != code {
		t.Errorf("%q: exit %d, want %d (stderr %q)", args, got, code, stderr)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || strings.Contains(stderr, "\x1b") {
		t.Errorf("%q: stderr is not one plain line: %q", args, stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("%q: stderr %q does not contain %q", args, stderr, want)
	}
}

func TestUnknownSubcommandsAreUsageErrorsWithASuggestion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "netpolcheck"; available: cluster`},
		{[]string{"clustr"}, `did you mean "cluster"?`},
		{[]string{"cluster", "bogus"}, `unknown command "bogus" for "netpolcheck cluster"; available: cleanup`},
		{[]string{"cluster", "clean"}, `did you mean "cleanup"?`},
		{[]string{"run", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"table", "extra"}, `unknown command "extra" for "netpolcheck table"`},
	} {
		oneLineExit(t, exitBadInput, c.want, c.args...)
	}
	// A group with no subcommand prints its help and succeeds.
	stdout, _, code := runNetpolcheck(t, "", "cluster")
	if code != 0 || !strings.Contains(stdout, "cleanup") {
		t.Errorf("cluster alone: exit %d, stdout %q", code, stdout)
	}
}

// Every bad flag of run is refused before anything is built: one line that
// names the flag and what it accepts, exit 2.
func TestRunRefusesEveryBadFlagUpFront(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster", "nope"}, `--cluster "nope": want one of netns`},
		{[]string{"--enforcer", "calico"}, `--enforcer "calico": want reference or none or manifests`},
		{[]string{"--enforcer", "manifests", "--cluster", "kind"}, "--enforcer manifests: give the plugin's manifests with --enforcer-manifests DIR"},
		{[]string{"--enforcer-manifests", dir, "--cluster", "kind"}, "--enforcer-manifests " + dir + " with --enforcer reference: the manifests are the enforcer under test"},
		{[]string{"--enforcer", "manifests", "--enforcer-manifests", dir}, "--enforcer-manifests needs a real cluster: --cluster kind or existing, not netns"},
		{[]string{"--enforcer", "manifests", "--enforcer-manifests", dir, "--cluster", "kind"}, "--enforcer-manifests " + dir + ": no *.yaml or *.yml file in it"},
		{[]string{"--enforcer", "manifests", "--enforcer-manifests", filepath.Join(dir, "absent"), "--cluster", "existing"}, "--enforcer-manifests " + filepath.Join(dir, "absent") + ": not a directory"},
		{[]string{"--load-image", "plugin.tar"}, "--load-image loads tarballs into kind nodes; --cluster netns cannot take them"},
		{[]string{"--load-image", filepath.Join(dir, "plugin.tar"), "--cluster", "kind"}, "--load-image " + filepath.Join(dir, "plugin.tar") + ": not a file"},
		{[]string{"--cni", "flannel", "--cluster", "kind"}, `--cni "flannel": want builtin or manifests`},
		{[]string{"--cni", "manifests", "--cluster", "kind"}, "--cni manifests: the plugin's manifests must install the CNI, so it needs --cluster kind and --enforcer-manifests"},
		{[]string{"--probe-mode", "bulk"}, `--probe-mode "bulk": want batch or per-cell`},
		{[]string{"--probe-mode", "per-cell"}, "--probe-mode per-cell probes through the Kubernetes API: --cluster kind or existing, not netns"},
		{[]string{"--deny-action", "block"}, `--deny-action "block": want reject or drop`},
		{[]string{"--deadline", "0s"}, "--deadline 0s: want a positive duration"},
		{[]string{"--probe-timeout", "-1s"}, "--probe-timeout -1s: want a positive duration"},
		{[]string{"--nodes", "0"}, "--nodes 0: want at least 1"},
		{[]string{"--nodes", "1"}, "--nodes 1: the selected cases need at least 2 (pod x/b of case"},
		{[]string{"--focus", "("}, `--focus "(": neither a case name nor a regular expression`},
		{[]string{"--focus", "no case has this name"}, "no case matches"},
		{[]string{"--label-filter", "ingress &&"}, `--label-filter "ingress &&": Unexpected EOF.`},
		{[]string{"--label-filter", "ingress && (egress"}, `--label-filter "ingress && (egress"`},
		{[]string{"-o", "xml"}, `--output "xml": want text, json, yaml`},
		{[]string{"-o", "json", "--results", "-"}, "--output json and --results - both want stdout"},
		{[]string{"-o", "yaml", "--results", "-"}, "--output yaml and --results - both want stdout"},
		{[]string{"--verbosity=-1"}, "--verbosity -1: want 0 (nothing) to 3 (debug)"},
		{[]string{"--dump-case", "nope"}, `--dump-case "nope": no case has this name (see --list)`},
		{[]string{"--dump-step", "1"}, "--dump-step 1 goes with --dump-case NAME"},
		{[]string{"--dump-case", "upstream tcp: should support a 'default-deny-ingress' policy", "--dump-step", "2"}, `--dump-step 2: case "upstream tcp: should support a 'default-deny-ingress' policy" has steps 1 to 1`},
		{[]string{"--dump-case", "upstream tcp: should support a 'default-deny-ingress' policy", "--list"}, "--dump-case and --list exclude each other"},
		{[]string{"--dump-case", "upstream tcp: should support a 'default-deny-ingress' policy", "-o", "json"}, "--dump-case writes YAML manifests: drop -o json"},
		{[]string{"--results", filepath.Join(dir, "absent", "r.jsonl")}, "directory " + filepath.Join(dir, "absent") + " does not exist"},
		{[]string{"--results", dir}, "is a directory"},
		{[]string{"--deadline", "soon"}, `invalid argument "soon" for "--deadline"`},
		{[]string{"extra"}, `unknown command "extra" for "netpolcheck run"`},
	} {
		oneLineExit(t, exitBadInput, c.want, append([]string{"run"}, c.args...)...)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused run created %v", entries)
	}
}

func TestFocusTakesACaseNameLiterally(t *testing.T) {
	// A name from --list, parentheses and all, selects exactly that case.
	name := "upstream tcp: should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)"
	stdout, stderr, code := runNetpolcheck(t, "", "run", "--list", "--focus", name)
	if code != 0 || strings.Count(stdout, "\n") != 1 || !strings.HasPrefix(stdout, name+"  [") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A regular expression still works.
	stdout, _, code = runNetpolcheck(t, "", "run", "--list", "--focus", "^upstream (udp|sctp): ")
	if code != 0 || strings.Count(stdout, "\n") < 2 {
		t.Errorf("regex focus: exit %d, stdout %q", code, stdout)
	}
}

func TestRunListJSON(t *testing.T) {
	stdout, stderr, code := runNetpolcheck(t, "", "run", "--list", "-o", "json", "--label-filter", "sctp && upstream")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var list struct {
		Cases []struct {
			Name   string   `json:"name"`
			Labels []string `json:"labels"`
		} `json:"cases"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if len(list.Cases) != 3 || !strings.HasPrefix(list.Cases[0].Name, "upstream sctp: ") || len(list.Cases[0].Labels) == 0 {
		t.Errorf("want the 3 upstream SCTP cases with labels, got %+v", list.Cases)
	}
}

func TestVersion(t *testing.T) {
	stdout, stderr, code := runNetpolcheck(t, "", "--version")
	if code != 0 || !strings.HasPrefix(stdout, "netpolcheck ") || !strings.Contains(stdout, "go:") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// The exit code of a run: an interrupt wins, then infrastructure errors,
// then failures of the enforcer.
func TestRunOutcomeExitCodes(t *testing.T) {
	passed := result.Case{Name: "p", Passed: true}
	failedCase := result.Case{Name: "f", Failure: "x/a -> y/b expected denied, observed connected"}
	infra := result.Case{Name: "i", Error: result.Errorf(result.ErrorProbe, "probe could not run")}
	for _, c := range []struct {
		name      string
		results   []result.Case
		interrupt string
		code      int
		want      string
	}{
		{"all passed", []result.Case{passed, passed}, "", 0, ""},
		{"enforcer failed a case", []result.Case{passed, failedCase}, "", exitFailed, "1 case of 2 failed"},
		{"infrastructure error", []result.Case{passed, infra}, "", exitInfra, "1 case of 2 hit infrastructure errors"},
		{"infrastructure error wins over failures", []result.Case{failedCase, infra, failedCase}, "", exitInfra, "1 case of 3 hit infrastructure errors (they say nothing about the enforcer), 2 failed"},
		{"interrupt wins", []result.Case{failedCase, infra}, `running case "x"`, exitInterrupted, `interrupted while running case "x"`},
	} {
		var s runSummary
		for _, r := range c.results {
			s.add(r)
		}
		err := s.outcome(c.interrupt)
		code := 0
		if err != nil {
			code = err.(*exitError).code
		}
		if code != c.code || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: exit %d (%v), want %d with %q", c.name, code, err, c.code, c.want)
		}
	}
}

// A run interrupted before its cluster exists exits 130 with one line that
// says what it was doing, not a bare "context canceled".
func TestRunInterruptedEarlyExits130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	results := filepath.Join(t.TempDir(), "r.jsonl")
	_, code := runNetpolcheckContext(t, ctx, &stderr, "", "run", "--focus", "default-deny-ingress", "--results", results)
	last := lastLine(stderr.String())
	if code != exitInterrupted || !strings.HasPrefix(last, "netpolcheck: interrupted while ") || strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(results); err == nil {
		t.Errorf("an interrupted run before any case left %s", results)
	}
}

// cancelOnWrite cancels a context once a case's result (after the results
// header) is written, and keeps the bytes.
type cancelOnWrite struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	// The lines are the run, the preflight, then a case's result.
	if strings.Count(w.buf.String(), "\n") >= 3 {
		w.cancel()
	}
	return n, err
}

// Interrupted mid-run (after the first case's result is written): exit 130,
// and the summary of the finished case is printed.
func TestRunInterruptedMidRunSummarisesFinishedCases(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck run builds a netns cluster: run as root")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCommand()
	stdout := &cancelOnWrite{cancel: cancel}
	var stderr bytes.Buffer
	root.SetOut(stdout)
	root.SetErr(&stderr)
	reportDir := filepath.Join(t.TempDir(), "reports")
	root.SetArgs([]string{"run", "--results", "-", "--report-dir", reportDir, "--focus", "^upstream tcp: should support a 'default-deny-(ingress|all)' policy$"})
	code := execute(ctx, root)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitInterrupted, stderr.String())
	}
	for _, want := range []string{"interrupted after 1 of 2 cases: 1 passed, 0 failed, 0 infrastructure errors", "netpolcheck: interrupted while "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	set, err := reports.Read(&stdout.buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Cases) != 1 || set.Preflight == nil || set.End == nil || set.End.Interrupted == "" || set.Outcome() != result.OutcomeIncomplete {
		t.Errorf("stdout should hold the run, the preflight, the first case and an interrupted end: %d cases, end %+v", len(set.Cases), set.End)
	}
	for _, name := range []string{reports.JSONLName, reports.JUnitName, reports.HTMLName, reports.MarkdownName, reports.ConformanceName} {
		if _, err := os.Stat(filepath.Join(reportDir, name)); err != nil {
			t.Errorf("the interrupted run left no %s: %v", name, err)
		}
	}
}

// A real SIGINT to the binary, and a run without root: the codes main
// returns, end to end.
func TestBinaryExitCodes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (the netns cluster, and runuser to drop it)")
	}
	dir, err := os.MkdirTemp("", "netpolcheck-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // runuser's nobody must reach the binary
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "netpolcheck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if runuser, err := exec.LookPath("runuser"); err == nil {
		cmd := exec.Command(runuser, "-u", "nobody", "--", bin, "run", "--focus", "default-deny-ingress")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != exitInfra || !strings.Contains(stderr.String(), "run as root") {
			t.Errorf("run without root: exit %d (%v), want %d; stderr %q", code, err, exitInfra, stderr.String())
		}
	}

	cmd := exec.Command(bin, "run", "--enforcer", "none", "--report-dir", filepath.Join(dir, "reports"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("SIGINT: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "netpolcheck: interrupted") || strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("SIGINT: stderr %q", stderr.String())
	}
}

// lastLine is the last non-empty line of s: the error, after any progress
// lines a non-terminal stderr receives.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
