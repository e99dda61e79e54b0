package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

// reportCounts are the case counts one report format states.
type reportCounts struct {
	passed, failed, errors int
	complete               bool
}

// countsOf reads the counts each format of a report directory states, by
// format name, parsing each the way its consumer would.
func countsOf(t *testing.T, dir string) map[string]reportCounts {
	t.Helper()
	out := map[string]reportCounts{}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	set, err := reports.ReadFile(filepath.Join(dir, reports.JSONLName))
	if err != nil {
		t.Fatal(err)
	}
	tot := set.Totals()
	out["jsonl"] = reportCounts{tot.Passed, tot.Failed, tot.Errors, set.Complete()}

	var junit struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
			Cases    []struct {
				Name      string    `xml:"name,attr"`
				ClassName string    `xml:"classname,attr"`
				Failure   *struct{} `xml:"failure"`
				Error     *struct{} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(read(reports.JUnitName), &junit); err != nil || len(junit.Suites) != 1 {
		t.Fatalf("junit.xml: %v, %d suites", err, len(junit.Suites))
	}
	var j reportCounts
	j.complete = true
	for _, c := range junit.Suites[0].Cases {
		switch {
		case c.ClassName == "netpolcheck.run":
			j.complete = j.complete && c.Name != "run incomplete"
		case c.Failure != nil:
			j.failed++
		case c.Error != nil:
			j.errors++
		default:
			j.passed++
		}
	}
	out["junit"] = j

	md := string(read(reports.MarkdownName))
	row := func(label string) int {
		m := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(label) + ` \| (\d+) \|$`).FindStringSubmatch(md)
		if m == nil {
			t.Fatalf("summary.md has no %q row:\n%s", label, md)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	out["markdown"] = reportCounts{row("passed"), row("failed"), row("errors"), !strings.Contains(md, "INCOMPLETE")}

	var conf reports.ConformanceReport
	if err := yaml.UnmarshalStrict(read(reports.ConformanceName), &conf); err != nil {
		t.Fatalf("conformance.yaml: %v", err)
	}
	c := reportCounts{complete: conf.Complete}
	for _, p := range conf.Profiles {
		c.passed += p.Passed
		c.failed += p.Failed
		c.errors += p.Errors
	}
	out["conformance"] = c

	html := string(read(reports.HTMLName))
	count := func(key string) int {
		m := regexp.MustCompile(`data-count="` + key + `">(\d+)<`).FindStringSubmatch(html)
		if m == nil {
			t.Fatalf("report.html has no count %q", key)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	out["html"] = reportCounts{count("passed"), count("failed"), count("errors"), !strings.Contains(html, `id="incomplete"`)}
	return out
}

// agree fails unless every format states want.
func agree(t *testing.T, dir string, want reportCounts) {
	t.Helper()
	for format, got := range countsOf(t, dir) {
		if got != want {
			t.Errorf("%s says %+v, want %+v", format, got, want)
		}
	}
}

// netpolcheck run --enforcer none on the netns cluster leaves a report
// directory whose five formats state the same counts, and those are what
// the exit code says: cases that expect a denial fail, the one that expects
// none passes, so the run failed (exit 1).
func TestRunReportsAgreeWithEachOtherAndTheExitCode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck run builds a netns cluster: run as root")
	}
	dir := filepath.Join(t.TempDir(), "reports")
	focus := `^upstream tcp: should (support allow-all policy|support a 'default-deny-ingress' policy|enforce policy based on PodSelector with MatchExpressions)$`
	stdout, stderr, code := runNetpolcheck(t, "", "run", "--enforcer", "none", "--focus", focus, "--report-dir", dir)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	agree(t, dir, reportCounts{passed: 1, failed: 2, complete: true})
	set, err := reports.ReadFile(filepath.Join(dir, reports.JSONLName))
	if err != nil {
		t.Fatal(err)
	}
	if set.Outcome() != result.OutcomeFailed || set.Run.Selected != 3 {
		t.Errorf("outcome %s of %d selected, want failed of 3", set.Outcome(), set.Run.Selected)
	}

	// report regenerates the same files from the JSONL.
	again := t.TempDir()
	if _, stderr, code := runNetpolcheck(t, "", "report", "--from", filepath.Join(dir, reports.JSONLName), "--dir", again); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	for _, name := range []string{reports.JUnitName, reports.HTMLName, reports.MarkdownName, reports.ConformanceName} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, err := os.ReadFile(filepath.Join(again, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("report --from wrote a different %s than the run (%v)", name, err)
		}
	}
}

// A run killed with SIGKILL halfway leaves results.jsonl with the cases it
// finished; report turns it into every other format, each marked
// incomplete; cluster cleanup then removes what the killed run left.
func TestKilledRunLeavesResultsThatReportRenders(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck run builds a netns cluster: run as root")
	}
	bin := filepath.Join(t.TempDir(), "netpolcheck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "reports")
	run := exec.Command(bin, "run", "--enforcer", "none", "--label-filter", "upstream && tcp", "--report-dir", dir)
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once two cases are on record: halfway through the selection.
	results := filepath.Join(dir, reports.JSONLName)
	deadline := time.Now().Add(2 * time.Minute)
	for caseLines(results) < 2 {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
			t.Fatalf("no two cases recorded within 2 minutes:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := syscall.Kill(-run.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = run.Wait()
	t.Cleanup(func() {
		out, err := exec.Command(bin, "cluster", "cleanup").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "removed") {
			t.Errorf("cluster cleanup after the kill: %v\n%s", err, out)
		}
	})
	for _, name := range []string{reports.JUnitName, reports.HTMLName} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Fatalf("the killed run wrote %s: it was not killed halfway", name)
		}
	}

	out, errOut, code := runNetpolcheck(t, "", "report", "--from", results)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "the run is incomplete (no end line: the run was killed)") || strings.Count(out, "\n") != 4 {
		t.Errorf("report output:\n%s\nstderr:\n%s", out, errOut)
	}
	set, err := reports.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	tot := set.Totals()
	if set.Outcome() != result.OutcomeIncomplete || tot.Ran < 2 || tot.Ran >= tot.Selected {
		t.Fatalf("outcome %s, %d of %d ran: want incomplete, halfway", set.Outcome(), tot.Ran, tot.Selected)
	}
	agree(t, dir, reportCounts{passed: tot.Passed, failed: tot.Failed, errors: tot.Errors, complete: false})
	junit, _ := os.ReadFile(filepath.Join(dir, reports.JUnitName))
	if !strings.Contains(string(junit), fmt.Sprintf("%d of its %d selected cases did not run", tot.Selected-tot.Ran, tot.Selected)) {
		t.Errorf("junit.xml does not say how many cases did not run:\n%s", junit)
	}
}

// caseLines counts the "case" lines of a results file written so far.
func caseLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte(`{"case":`)) {
			n++
		}
	}
	return n
}

// Bad input to report and compare names the file and the line.
func TestReportAndCompareRefuseBadInput(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.jsonl":   "{\"run\":{\"id\":\"r\"}}\nnot json\n{\"end\":{}}\n",
		"norun.jsonl": "{\"case\":{\"name\":\"c\"}}\n",
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "--from: give the results file"},
		{[]string{"report", "--from", filepath.Join(dir, "absent.jsonl")}, "absent.jsonl: no such file"},
		{[]string{"report", "--from", filepath.Join(dir, "bad.jsonl")}, "bad.jsonl:2: not a result line"},
		{[]string{"report", "--from", filepath.Join(dir, "norun.jsonl")}, `norun.jsonl:1: the first line must be the "run" line`},
		{[]string{"compare", filepath.Join(dir, "bad.jsonl"), filepath.Join(dir, "norun.jsonl")}, "bad.jsonl:2: not a result line"},
	} {
		oneLineExit(t, exitBadInput, c.want, c.args...)
	}
}
