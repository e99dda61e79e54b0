package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/cases/generate"
)

// generate writes one file per case, named by seed and index, holding
// exactly the YAML of the generator's cases: the same seed gives the same
// bytes, and each file reads back as a case.
func TestGenerateWritesTheGeneratorsCases(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gen")
	stdout, stderr, code := runNetpolcheck(t, "", "generate", "--seed", "3", "--count", "12", "-o", dir)
	if code != 0 || stdout != fmt.Sprintf("wrote 12 cases (seed 3) to %s; netpolcheck replay %s runs them\n", dir, filepath.Join(dir, "*.yaml")) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	want, err := generate.Cases(3, 12)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range want {
		path := filepath.Join(dir, fmt.Sprintf("gen-3-%02d.yaml", i))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if marshalled, _ := cases.Marshal(c); !bytes.Equal(data, marshalled) {
			t.Errorf("%s is not case %d of seed 3:\n%s", path, i, data)
		}
		if read, err := cases.Unmarshal(path, data); err != nil || read.Name != c.Name {
			t.Errorf("%s reads as %q: %v", path, read.Name, err)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 12 {
		t.Errorf("%d files in %s, want 12", len(files), dir)
	}

	again := filepath.Join(t.TempDir(), "again")
	if _, stderr, code := runNetpolcheck(t, "", "generate", "--seed", "3", "--count", "12", "-o", again); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	for i := range want {
		name := fmt.Sprintf("gen-3-%02d.yaml", i)
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs of seed 3", name)
		}
	}
}

// Bad flags and a directory that holds YAML already are one line, exit 2,
// and nothing is written.
func TestGenerateRefusesBadInputUpFront(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "old.yaml"), []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(full, "old.yaml")
	empty := filepath.Join(t.TempDir(), "never")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--seed", "0", "-o", empty}, "--seed 0: want 1 or more"},
		{[]string{"generate", "--seed", "-4", "-o", empty}, "--seed -4: want 1 or more"},
		{[]string{"generate", "--count", "0", "-o", empty}, "--count 0: want 1 or more"},
		{[]string{"generate", "--count", "3"}, "-o DIR: give the directory"},
		{[]string{"generate", "-o", full}, "holds YAML files already (old.yaml)"},
		{[]string{"generate", "-o", file}, "is a file; want a directory"},
		{[]string{"generate", "-o", empty, "extra"}, `unknown command "extra"`},
	} {
		oneLineExit(t, exitBadInput, c.want, c.args...)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("a refused generate created %s", empty)
	}
}

// Generated files replay as any case does, on a netns cluster with the
// reference enforcer; the run ends with the coverage table, and the
// reports count the cases in the extended profile.
func TestGeneratedCasesReplay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck replay builds a netns cluster: run as root")
	}
	dir := filepath.Join(t.TempDir(), "gen")
	if _, stderr, code := runNetpolcheck(t, "", "generate", "--seed", "5", "--count", "2", "-o", dir); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	reportDir := filepath.Join(t.TempDir(), "reports")
	stdout, stderr, code := runNetpolcheck(t, "", append([]string{"replay", "--report-dir", reportDir}, files...)...)
	if code != 0 || !strings.Contains(stdout, "2 cases: 2 passed, 0 failed, 0 infrastructure errors") {
		t.Fatalf("replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	coverage := strings.Index(stdout, "coverage of 2 cases (2 passed): ")
	if coverage < 0 || coverage > strings.Index(stdout, "2 cases: 2 passed") || !strings.Contains(stdout, "\n  generated ") || !strings.Contains(stdout, "\n  family=combinatorial ") {
		t.Errorf("the coverage table, with the generated labels, does not come before the verdict:\n%s", stdout)
	}
	set, err := reports.ReadFile(filepath.Join(reportDir, reports.JSONLName))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range reports.Conformance(set).Profiles {
		if p.Name == result.ProfileExtended && (p.Passed != 2 || p.Result != reports.ConformancePassed) {
			t.Errorf("extended profile %+v, want 2 passed", p)
		}
	}
	summary, err := os.ReadFile(filepath.Join(reportDir, reports.MarkdownName))
	if err != nil || !strings.Contains(string(summary), "\n## Coverage\n") {
		t.Errorf("summary.md has no coverage section (%v)", err)
	}
}
