package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// A failed case's manifests, read back from --results and applied to a
// fresh netns cluster with no enforcer, fail on exactly the same cells.
// The cases cover a policy built from the pods' observed addresses (ipBlock)
// and a failure at a later step, after a pod was relabelled.
func TestFailedCaseManifestsReproduceTheFailure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck run builds a netns cluster: run as root")
	}
	for _, c := range []struct {
		name string
		step int
		want []string // in the printed manifests
	}{
		{"upstream tcp: should allow egress access to server in CIDR block", 1, []string{"ipBlock:", "/32\n"}},
		{"upstream tcp: should deny ingress access to updated pod", 2, []string{"target: isolated\n"}},
	} {
		results := filepath.Join(t.TempDir(), "results.jsonl")
		stdout, stderr, code := runNetpolcheck(t, "", "run", "--focus", c.name, "--enforcer", "none", "--results", results, "--report-dir", t.TempDir())
		if code != exitFailed {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", c.name, code, exitFailed, stdout, stderr)
		}
		for _, want := range append([]string{"# Case " + `"` + c.name, "kind: Namespace\n", "kind: Pod\n", "kind: NetworkPolicy\n"}, c.want...) {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: the report lacks %q:\n%s", c.name, want, stdout)
			}
		}
		set, err := reports.ReadFile(results)
		if err != nil || len(set.Cases) != 1 || set.Cases[0].Reproduce == nil {
			t.Fatalf("%s: want one case with its reproduction in %s: %v", c.name, results, err)
		}
		res := set.Cases[0]
		if res.Reproduce.Step != c.step || len(res.Steps) != c.step {
			t.Fatalf("%s: reproduces step %d of %d reported, want %d", c.name, res.Reproduce.Step, len(res.Steps), c.step)
		}
		want := wrongCells(res.Steps[len(res.Steps)-1])
		if len(want) == 0 {
			t.Fatalf("%s: the failed step has no wrong cell:\n%s", c.name, result.Describe(res))
		}

		state, err := cases.ParseManifests("reproduce.manifests", []byte(res.Reproduce.Manifests))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var probes []model.PortProtocol
		for _, s := range res.Reproduce.Probes {
			pp, err := model.ParsePortProtocol(s)
			if err != nil {
				t.Fatal(err)
			}
			probes = append(probes, pp)
		}
		var create []cases.Action
		for _, np := range state.Policies {
			create = append(create, cases.CreatePolicy{Policy: np})
		}
		replay := cases.Case{
			Name:     "reproduction of " + c.name,
			Topology: state.Topology,
			Steps:    []cases.Step{{Name: "apply the manifests", Actions: create, Probes: probes}},
		}
		got := runOnFreshCluster(t, replay)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the reproduction is wrong on\n  %v\nthe run on\n  %v", c.name, got, want)
		}
	}
}

// runOnFreshCluster runs c on a new netns cluster without an enforcer and
// returns the wrong cells of its last step.
func runOnFreshCluster(t *testing.T, c cases.Case) []string {
	t.Helper()
	ctx := context.Background()
	cluster, err := clusters.Create(ctx, "netns", clusters.WithNodes(2))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cluster.Destroy(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
	}()
	if err := cluster.InstallEnforcer(ctx, clusters.EnforcerNone); err != nil {
		t.Fatal(err)
	}
	res := runner.New(cluster, runner.WithDeadline(time.Second)).Run(ctx, c)
	if res.Passed || res.Error != nil || len(res.Steps) != 1 {
		t.Fatalf("%s: want a failure of its one step, got passed=%v error=%v:\n%s", c.Name, res.Passed, res.Error, result.Describe(res))
	}
	return wrongCells(res.Steps[0])
}

// wrongCells lists the judged cells that did not match, as
// "from -> to port/protocol", sorted.
func wrongCells(sr result.Step) []string {
	var out []string
	for _, cell := range sr.Cells {
		if !cell.Match && cell.Judged() {
			out = append(out, cell.Key())
		}
	}
	slices.Sort(out)
	return out
}
