package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// The preflight passes on a sound cluster: no policies, everything
// connects; the reference enforcer enforces the canary and lifts it.
func TestPreflightPassesWithTheReferenceEnforcer(t *testing.T) {
	c := newCluster(t)
	if err := c.InstallEnforcer(context.Background(), "reference"); err != nil {
		t.Fatal(err)
	}
	r := New(c, WithDeadline(5*time.Second), WithProbeTimeout(500*time.Millisecond))
	pf, err := r.Preflight(context.Background(), true)
	if err != nil {
		t.Fatalf("%v\n%s", err, result.Describe(pf.Case))
	}
	if pf.CanaryEnforcedIn <= 0 || len(pf.Case.Steps) != 2 {
		t.Errorf("canary enforced in %s over %d steps; want a positive time over 2 steps", pf.CanaryEnforcedIn, len(pf.Case.Steps))
	}
	t.Logf("canary enforced in %s; preflight took %s", pf.CanaryEnforcedIn, pf.Duration)
}

// Something other than the enforcer under test filters traffic (a stray
// REJECT in x/a's node): the baseline stops the run before any case.
func TestPreflightStopsWhenSomethingElseEnforces(t *testing.T) {
	for _, tc := range []struct {
		name     string
		enforcer string
	}{{"nothing installed", "none"}, {"reference installed", "reference"}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			if err := c.InstallEnforcer(context.Background(), tc.enforcer); err != nil {
				t.Fatal(err)
			}
			r := New(c, WithDeadline(time.Second), WithProbeTimeout(300*time.Millisecond))
			if err := r.Reset(context.Background(), defaultCase()); err != nil {
				t.Fatal(err)
			}
			rejectNewToXA(t, c, "-I", "icmp-admin-prohibited")
			_, err := r.Preflight(context.Background(), tc.enforcer != "none")
			if err == nil || !strings.Contains(err.Error(), "with no policies the default matrix does not connect") || !strings.Contains(err.Error(), "-> x/a") {
				t.Fatalf("want the baseline to fail on cells into x/a, got %v", err)
			}
		})
	}
}

// Nothing is meant to enforce (--enforcer none), but an enforcer runs, as
// kindnet's policy engine would if left on: the canary takes effect and the
// run stops, instead of passing cases that must fail.
func TestPreflightStopsWhenAnEnforcerRunsUnasked(t *testing.T) {
	c := newCluster(t)
	if err := c.InstallEnforcer(context.Background(), "reference"); err != nil {
		t.Fatal(err)
	}
	r := New(c, WithDeadline(2*time.Second), WithProbeTimeout(300*time.Millisecond))
	pf, err := r.Preflight(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "something other than the enforcer under test enforces NetworkPolicy") || !strings.Contains(err.Error(), "-> x/") {
		t.Fatalf("want the unenforced canary to fail on cells into x, got %v\n%s", err, result.Describe(pf.Case))
	}
}

// The enforcer under test is said to enforce but nothing does: the canary
// never takes effect and the run stops.
func TestPreflightStopsWhenTheEnforcerEnforcesNothing(t *testing.T) {
	c := newCluster(t)
	r := New(c, WithDeadline(time.Second), WithProbeTimeout(300*time.Millisecond))
	_, err := r.Preflight(context.Background(), true)
	if err == nil || !strings.Contains(err.Error(), "did not enforce a default-deny") {
		t.Fatalf("want the canary to fail, got %v", err)
	}
	// With nothing meant to enforce, the same cluster passes.
	if _, err := r.Preflight(context.Background(), false); err != nil {
		t.Fatalf("without a canary: %v", err)
	}
}

// defaultCase is an empty case over the default topology.
func defaultCase() cases.Case { return cases.Case{Name: "default topology"} }

// An enforcer left on may act late: the canary is watched (Step.Hold) long
// enough to see it. Here the enforcers are stopped when the canary goes in
// and started half a second later; a canary watched only until it
// converges would be gone by then and the run would go on.
func TestPreflightWaitsForALateUnaskedEnforcer(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if err := c.InstallEnforcer(ctx, "reference"); err != nil {
		t.Fatal(err)
	}
	nodes := []string{"node-1", "node-2"}
	for _, n := range nodes {
		if err := c.StopEnforcer(n); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	started := make(chan error, 1)
	hook := func(at RoundInfo) {
		if at.Step != 0 {
			return
		}
		once.Do(func() {
			go func() {
				time.Sleep(500 * time.Millisecond)
				var errs []error
				for _, n := range nodes {
					errs = append(errs, c.StartEnforcer(ctx, n))
				}
				started <- errors.Join(errs...)
			}()
		})
	}
	r := New(c, WithDeadline(3*time.Second), WithProbeTimeout(300*time.Millisecond), WithRoundHook(hook))
	pf, err := r.Preflight(ctx, false)
	if err == nil || !strings.Contains(err.Error(), "something other than the enforcer under test enforces NetworkPolicy") {
		t.Fatalf("want the late enforcer caught while the canary is watched, got %v\n%s", err, result.Describe(pf.Case))
	}
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the enforcers were never started again")
	}
}
