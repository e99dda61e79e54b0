package faults

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	"github.com/netpolcheck/netpolcheck/clusters/netns"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// TestFaultInjection runs faultCases under each fault, on a fresh cluster
// per fault, and ends with the fault table.
func TestFaultInjection(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the fault suite creates network namespaces and iptables rules: run it as root, " +
			"e.g. sudo -E env PATH=$PATH go test -v ./suites/faults/")
	}
	start := time.Now()
	var rows []*row
	defer func() {
		t.Logf("fault injection on %d cases per fault, %s:\n%s", len(faultCases), time.Since(start).Round(time.Second), renderTable(rows))
	}()
	for _, f := range faults() {
		t.Run(f.name, func(t *testing.T) {
			r := &row{fault: f.name, expect: f.expect, window: f.window}
			rows = append(rows, r)
			runFault(t, f, r)
			for _, p := range r.problems {
				t.Error(p)
			}
			switch {
			case r.run == 0:
				t.Errorf("%s: no case ran", f.name)
			case r.falsePasses > 0:
				t.Errorf("%s: %d false passes: the harness passed a case it must not", f.name, r.falsePasses)
			}
		})
	}
}

// runFault runs every fault case under one fault, each on a fresh cluster,
// so no damage outlives its case.
func runFault(t *testing.T, f fault, r *row) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, name := range faultCases {
		c, err := cases.ByName(name)
		if err != nil {
			r.problem("%v", err)
			continue
		}
		tgt, err := pickTarget(c)
		if err != nil {
			r.problem("%v", err)
			continue
		}
		res, s, err := runCase(ctx, t, f, c, tgt)
		if err != nil {
			r.problem("%s: %v", c.Name, err)
			continue
		}
		r.add(t, c, tgt, res, s)
	}
}

// runCase creates a cluster with the reference enforcer, runs the case with
// the fault armed, and destroys the cluster.
func runCase(ctx context.Context, t *testing.T, f fault, c cases.Case, tgt target) (res result.Case, s *strike, err error) {
	cl, err := netns.Create(ctx, append([]netns.Option{netns.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))}, f.clusterOpts...)...)
	if err != nil {
		return res, nil, err
	}
	defer func() {
		if destroyErr := cl.Destroy(context.WithoutCancel(ctx)); destroyErr != nil && err == nil {
			err = destroyErr
		}
	}()
	if err := cl.InstallEnforcer(ctx, "reference"); err != nil {
		return res, nil, err
	}
	s = f.arm(cl, tgt)
	opts := append([]runner.Option{
		runner.WithDeadline(caseDeadline),
		runner.WithProbeTimeout(probeTimeout),
		runner.WithRoundInterval(roundInterval),
		runner.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))),
		runner.WithRoundHook(func(ri runner.RoundInfo) {
			if ri.Case == c.Name {
				s.hook(ri)
			}
		}),
	}, f.runnerOpts...)
	res = runner.New(cl, opts...).Run(ctx, c)
	s.after(ctx, res)
	return res, s, nil
}
