package shrink_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/clusters/netns"
	"github.com/netpolcheck/netpolcheck/reference/enforcer"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
	"github.com/netpolcheck/netpolcheck/suites/shrink"
)

// The reference enforcer converges in about 50 ms on the netns cluster and
// denies by REJECT, so a step that has not matched in two seconds never
// will. Every candidate that still fails costs one deadline: keep it short.
const mutantDeadline = 2 * time.Second

// TestMutantCaseShrinksToAMinimalReplayableCase is the acceptance of
// shrinking: the curated case that catches a plugin ignoring ipBlock.except
// (the reference enforcer made mutant MutantIgnoreExcept) shrinks, on that
// cluster, to a smaller case; written as YAML and read back, it fails on a
// fresh mutant cluster the same way, and passes with the correct reference
// enforcer, so it is a real test of the bug and not a broken case.
func TestMutantCaseShrinksToAMinimalReplayableCase(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the netns cluster creates network namespaces and iptables rules: run as root")
	}
	const name = "upstream tcp: should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed"
	original, err := cases.ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	mutant := netns.WithEnforcerOptions(enforcer.WithMutant(enforcer.MutantIgnoreExcept))

	var minimal cases.Case
	onCluster(t, mutant, func(ctx context.Context, r *runner.Runner) {
		res := r.Run(ctx, original)
		if res.Verdict() != result.Failed {
			t.Fatalf("the original case on the mutant: %s, want a failure: %s", res.Verdict(), res.Why())
		}
		var st shrink.Stats
		minimal, st, err = shrink.Shrink(ctx, original, shrink.Reproduces(r.Run, res), shrink.WithObserver(func(a shrink.Attempt) {
			t.Logf("attempt %2d %-5v size %2d best %2d %5s  %s: %s", a.N, a.Fails, a.Size, a.Best, a.Took.Round(10*time.Millisecond), a.Kind, a.What)
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s (%s): size %d -> %d in %d attempts, %s; accepted %v; minimal %v",
			name, shrink.SignatureOf(res), st.OriginalSize, st.Size, st.Attempts, st.Took.Round(100*time.Millisecond), st.Accepted, st.Minimal)
		if st.Size >= st.OriginalSize || !st.Minimal {
			t.Errorf("not shrunk to a minimum: %+v", st)
		}
	})

	data, err := cases.Marshal(minimal)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "shrunk.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("minimal case:\n%s", data)
	read, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	replayed, err := cases.Unmarshal(file, read)
	if err != nil {
		t.Fatal(err)
	}
	if len(replayed.Steps) != 1 {
		t.Errorf("the bug shows in the first step alone, yet the minimal case has %d steps", len(replayed.Steps))
	}

	onCluster(t, mutant, func(ctx context.Context, r *runner.Runner) {
		if res := r.Run(ctx, replayed); res.Verdict() != result.Failed || shrink.SignatureOf(res).String() != "leak" {
			t.Errorf("the minimal case on a fresh mutant cluster: %s (%s), want a failure by leaks: %s", res.Verdict(), shrink.SignatureOf(res), res.Why())
		}
	})
	onCluster(t, nil, func(ctx context.Context, r *runner.Runner) {
		if res := r.Run(ctx, replayed); !res.Passed {
			t.Errorf("the minimal case with the correct reference enforcer: %s: %s", res.Verdict(), res.Why())
		}
	})
}

// onCluster runs f on a fresh netns cluster running the reference
// enforcer, with the extra option (a mutant) when given.
func onCluster(t *testing.T, opt netns.Option, f func(context.Context, *runner.Runner)) {
	t.Helper()
	ctx := t.Context()
	var opts []netns.Option
	if opt != nil {
		opts = append(opts, opt)
	}
	cluster, err := netns.Create(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cluster.Destroy(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
	}()
	if err := cluster.InstallEnforcer(ctx, clusters.EnforcerReference); err != nil {
		t.Fatal(err)
	}
	f(ctx, runner.New(cluster, runner.WithDeadline(mutantDeadline)))
}
