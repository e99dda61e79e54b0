package runner

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Defaults, tuned for clusters whose enforcer reacts in milliseconds and
// whose denials are REJECTs; real clusters want a longer deadline.
const (
	DefaultDeadline      = 10 * time.Second
	DefaultProbeTimeout  = time.Second
	DefaultRoundInterval = 20 * time.Millisecond
	DefaultSettleRounds  = 2
)

// Runner runs cases on one cluster, one at a time.
type Runner struct {
	cluster       clusters.Cluster
	deadline      time.Duration
	probeTimeout  time.Duration
	roundInterval time.Duration
	settleRounds  int
	log           *slog.Logger
	roundHook     func(RoundInfo)
	// disabled switches guards off; only this package's tests set it.
	disabled map[guard]bool
}

// Option adjusts New.
type Option func(*Runner)

// WithDeadline sets the convergence deadline of steps that set none.
func WithDeadline(d time.Duration) Option { return func(r *Runner) { r.deadline = d } }

// WithProbeTimeout sets the timeout of each probe.
func WithProbeTimeout(d time.Duration) Option { return func(r *Runner) { r.probeTimeout = d } }

// WithRoundInterval sets the pause between two rounds of probes.
func WithRoundInterval(d time.Duration) Option { return func(r *Runner) { r.roundInterval = d } }

// WithSettleRounds sets how many rounds run after convergence is stable
// (two matching rounds in a row) to catch flips and late leaks.
func WithSettleRounds(n int) Option { return func(r *Runner) { r.settleRounds = n } }

// WithLogger records one line per step (default: discarded).
func WithLogger(logger *slog.Logger) Option {
	return func(r *Runner) { r.log = logger }
}

// RoundInfo says where a round of probes stands, for WithRoundHook.
type RoundInfo struct {
	Case string
	// Step is the step's index in the case, -1 for the reset before it.
	Step     int
	StepName string
	// Round counts from 1 within the step.
	Round int
	// Stable: the step has matched stableRounds rounds in a row.
	Stable bool
	// Leaks counts the cells of this round that must be denied and
	// connected; Wrong the judged cells that did not match (leaks,
	// unproven cells and other mismatches).
	Leaks, Wrong int
}

// WithRoundHook calls hook after every round of probes has been judged,
// before the next one starts: progress displays, and fault injection that
// must strike at a known point of a step.
func WithRoundHook(hook func(RoundInfo)) Option { return func(r *Runner) { r.roundHook = hook } }

// New returns a Runner for cluster.
func New(cluster clusters.Cluster, opts ...Option) *Runner {
	r := &Runner{
		cluster:       cluster,
		deadline:      DefaultDeadline,
		probeTimeout:  DefaultProbeTimeout,
		roundInterval: DefaultRoundInterval,
		settleRounds:  DefaultSettleRounds,
		log:           provider.Discard(),
		roundHook:     func(RoundInfo) {},
	}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// Run resets the cluster to the case's topology with no policies, then runs
// the steps in order and stops at the first failed one (later steps build on
// it). The result says why a case failed; Run itself never fails.
func (r *Runner) Run(ctx context.Context, c cases.Case) result.Case {
	start := time.Now()
	res := result.Case{Name: c.Name, Profile: Profile(c), Features: c.Features, Clauses: c.Clauses, Passed: true}

	state, reset, err := r.reset(ctx, c)
	if err != nil {
		res.Passed = false
		res.Error = err
		if reset != nil {
			res.Steps = append(res.Steps, *reset)
		}
		res.Duration = time.Since(start)
		return res
	}
	before := allAllowed
	for i, step := range c.Steps {
		sr, after := r.runStep(ctx, state, step, r.settleRounds, before, RoundInfo{Case: c.Name, Step: i, StepName: step.Name})
		before = after
		if sr.Name == "" {
			sr.Name = fmt.Sprintf("step %d", i+1)
		}
		r.log.Info("step", "case", c.Name, "step", sr.Name, "passed", sr.Passed, "rounds", sr.Rounds, "converged", sr.TimeToConverge.Round(time.Millisecond))
		res.Steps = append(res.Steps, sr)
		if !sr.Passed {
			res.Passed = false
			if sr.Error != nil {
				res.Error = result.Errorf(sr.Error.Kind, "%s: %s", sr.Name, sr.Error.Message)
			}
			if sr.Failure != "" {
				res.Failure = fmt.Sprintf("%s: %s", sr.Name, sr.Failure)
			}
			break
		}
	}
	res.Duration = time.Since(start)
	return res
}

// Reset removes every policy, deploys the case's topology, and probes until
// the cluster is back to the model's table for no policies: the next case
// starts from a known, enforced state, so its time-to-enforce is its own.
func (r *Runner) Reset(ctx context.Context, c cases.Case) error {
	if _, _, err := r.reset(ctx, c); err != nil {
		return err
	}
	return nil
}

// reset is Reset that also returns the state the case starts from and, when
// it failed, the probing step.
func (r *Runner) reset(ctx context.Context, c cases.Case) (*cases.State, *result.Step, *result.InfraError) {
	if err := deleteAllPolicies(ctx, r.cluster); err != nil {
		return nil, nil, result.Errorf(result.ErrorReset, "%v", err)
	}
	if err := r.cluster.Deploy(ctx, c.TopologyOrDefault()); err != nil {
		return nil, nil, result.Errorf(result.ErrorReset, "%v", err)
	}
	state := cases.StateFor(c)
	if err := adoptClusterFacts(ctx, r.cluster, state, nil); err != nil {
		return nil, nil, result.Errorf(result.ErrorReset, "%v", err)
	}
	step := cases.Step{Name: result.ResetStep}
	if len(c.Steps) > 0 {
		step.Probes = c.Steps[0].Probes
	}
	sr, _ := r.runStep(ctx, state, step, 0, allAllowed, RoundInfo{Case: c.Name, Step: -1, StepName: step.Name})
	if !sr.Passed {
		msg := ""
		if sr.Error != nil {
			msg = sr.Error.Message
		} else {
			msg = fmt.Sprintf("a cluster without policies: %s", sr.Failure)
		}
		return nil, &sr, result.Errorf(result.ErrorReset, "%s", msg)
	}
	return state, nil, nil
}
