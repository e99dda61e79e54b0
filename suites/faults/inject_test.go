package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	"github.com/netpolcheck/netpolcheck/clusters/netns"
	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// Timing of the suite: short enough to keep it quick, long enough for the
// reference enforcer on this host.
const (
	caseDeadline  = 3 * time.Second
	probeTimeout  = 300 * time.Millisecond
	roundInterval = 20 * time.Millisecond
	// restartDelay is how long into step 0 a stopped enforcer restarts.
	restartDelay = 300 * time.Millisecond
	// flushResync is the enforcer's resync period in the flush fault.
	flushResync = time.Second
	// flushSettleRounds keeps probing long after convergence, so the flush
	// (made once the step is stable) happens while the runner watches.
	flushSettleRounds = 60
	// flushDeadline lets a step finish its settle rounds (their pauses
	// grow with the round count).
	flushDeadline = 10 * time.Second
	// maxFlushes bounds re-flushes in one case: a flush the enforcer
	// repaired between two rounds, unseen by anyone, is made again.
	maxFlushes = 5
	// healTimeout bounds waiting for a repair or a restart.
	healTimeout = 10 * time.Second
)

// The curated cases every fault runs: TCP, UDP and SCTP, ingress and egress.
var faultCases = []string{
	"upstream tcp: should support a 'default-deny-ingress' policy",
	"upstream tcp: should deny egress from all pods in a namespace",
	"upstream udp: should enforce policy based on Ports",
	"upstream sctp: should support a 'default-deny-ingress' policy",
	"egress port without protocol means TCP",
}

// expectation is how the harness must report a case under a fault.
type expectation int

const (
	expectInfraError expectation = iota
	expectFailure
	expectPass
)

func (e expectation) String() string {
	return [...]string{"infrastructure error", "failure", "pass"}[e]
}

// fault is one kind of damage and when it strikes.
type fault struct {
	name string
	// expect is the right report; a pass where expect is not expectPass is
	// a false pass, a non-pass where it is expectPass a false fail.
	expect      expectation
	clusterOpts []netns.Option
	runnerOpts  []runner.Option
	// window names the duration a strike measures, if any.
	window string
	// arm prepares the strike of one case on its cluster.
	arm func(cl *netns.Cluster, tgt target) *strike
}

// strike is one fault injected into one case.
type strike struct {
	// hook sees the case's rounds (the runner's round hook).
	hook func(ri runner.RoundInfo)
	// after runs once the case returned, before its cluster goes: it
	// finishes measurements and waits for what the strike started.
	after func(ctx context.Context, res result.Case)

	mu sync.Mutex
	// fired counts injections made.
	fired int
	// noEffect says why the injection made no difference the suite could
	// see ("" if it did, or if the suite cannot tell).
	noEffect string
	// errs are injections that failed.
	errs []error
	// notes are measurements (leak windows).
	notes []string
	// window is the duration the fault measures (fault.window).
	window time.Duration
}

func (s *strike) fail(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *strike) injected() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fired++
}

// faults lists the faults in table order.
func faults() []fault {
	return []fault{
		{name: "kill a probe server", expect: expectInfraError, arm: armKillAgent},
		{name: "delete a pod's route", expect: expectInfraError, arm: armDeletePodRoute},
		{name: "break an agent's control socket", expect: expectInfraError, arm: armBreakControlSocket},
		{name: "restart the enforcer", expect: expectPass, arm: armRestartEnforcer, window: "leaks reported for"},
		{
			name: "flush the enforcer's chains", expect: expectFailure, arm: armFlushChains,
			clusterOpts: []netns.Option{netns.WithEnforcerResyncPeriod(flushResync)},
			// The settle rounds outlast a resync period; the deadline lets a
			// case that saw no leak finish them and pass.
			runnerOpts: []runner.Option{runner.WithSettleRounds(flushSettleRounds), runner.WithDeadline(flushDeadline)},
			window:     "leak window",
		},
		{name: "stop the API watch", expect: expectFailure, arm: armPauseWatches},
	}
}

// afterFirstRound strikes the victim once, after round 1 of step 0.
func afterFirstRound(victim model.PodRef, inject func(model.PodRef) error) *strike {
	s := &strike{after: func(context.Context, result.Case) {}}
	s.hook = func(ri runner.RoundInfo) {
		if ri.Step == 0 && ri.Round == 1 && s.fired == 0 {
			s.injected()
			s.fail(inject(victim))
		}
	}
	return s
}

func armKillAgent(cl *netns.Cluster, tgt target) *strike {
	return afterFirstRound(tgt.cell.to, cl.KillAgent)
}

func armDeletePodRoute(cl *netns.Cluster, tgt target) *strike {
	return afterFirstRound(tgt.cell.to, cl.DeletePodRoute)
}

func armBreakControlSocket(cl *netns.Cluster, tgt target) *strike {
	return afterFirstRound(tgt.cell.from, cl.BreakControlSocket)
}

// lastResetRound says whether a round ends the reset before the case: the
// reset stops at its first round that matches.
func lastResetRound(ri runner.RoundInfo) bool { return ri.Step == -1 && ri.Wrong == 0 }

// armRestartEnforcer stops the denying nodes' enforcers after the last reset
// round, so step 0's policies are not enforced, and starts them again
// restartDelay later (about that far into step 0). The harness must report
// leaks for about that long: a healthy enforcer enforces within one or two
// rounds, so leaks that end sooner mean the stop had no effect.
func armRestartEnforcer(cl *netns.Cluster, tgt target) *strike {
	s := &strike{}
	restarted := make(chan struct{})
	var stoppedAt, lastLeak time.Time
	s.hook = func(ri runner.RoundInfo) {
		if ri.Step == 0 && ri.Leaks > 0 {
			lastLeak = time.Now()
		}
		if !lastResetRound(ri) || s.fired > 0 {
			return
		}
		s.injected()
		stoppedAt = time.Now()
		for _, node := range tgt.enforcers {
			s.fail(cl.StopEnforcer(node))
		}
		go func() {
			defer close(restarted)
			time.Sleep(restartDelay)
			ctx, cancel := context.WithTimeout(context.Background(), healTimeout)
			defer cancel()
			for _, node := range tgt.enforcers {
				s.fail(cl.StartEnforcer(ctx, node))
			}
		}()
	}
	s.after = func(ctx context.Context, res result.Case) {
		if s.fired == 0 {
			return
		}
		select {
		case <-restarted:
		case <-time.After(healTimeout):
			s.fail(errors.New("the enforcers did not restart"))
		}
		leakedFor := time.Duration(0)
		if !lastLeak.IsZero() {
			leakedFor = lastLeak.Sub(stoppedAt)
			s.window = leakedFor
		}
		// A case that did not pass is a false fail, reported apart; a pass
		// must have reported the leaks of the enforcer's absence.
		if res.Passed && leakedFor < restartDelay/2 {
			s.noEffect = fmt.Sprintf("the case passed with leaks reported for %s after the stop, want about %s",
				leakedFor.Round(time.Millisecond), restartDelay)
		}
	}
	return s
}

// armFlushChains flushes the denying nodes' chains once step 0 is stable,
// checks with its own probe that the target cell opened, and measures how
// long the harness saw the leak.
func armFlushChains(cl *netns.Cluster, tgt target) *strike {
	s := &strike{noEffect: "the step never became stable"}
	var (
		confirmed  bool      // our own probe saw the last flush open the cell
		firstLeak  time.Time // the first round after a confirmed flush that reported leaks
		flushedAt  time.Time
		runnerSeen bool
	)
	s.hook = func(ri runner.RoundInfo) {
		if ri.Step != 0 || !ri.Stable || runnerSeen {
			return
		}
		if confirmed && ri.Leaks > 0 {
			runnerSeen, firstLeak = true, time.Now()
			return
		}
		// Not flushed yet, or the enforcer repaired the flush before the
		// runner's round: flush (again).
		if s.fired >= maxFlushes {
			return
		}
		s.injected()
		flushedAt = time.Now()
		for _, node := range tgt.enforcers {
			if err := cl.FlushEnforcerChains(node); err != nil {
				s.fail(err)
				return
			}
		}
		open, err := leaking(context.Background(), cl, []cell{tgt.cell})
		if err != nil {
			s.fail(err)
			return
		}
		if open > 0 {
			confirmed, s.noEffect = true, ""
		} else if !confirmed {
			s.noEffect = fmt.Sprintf("%s did not connect right after the flush", tgt.cell)
		}
	}
	s.after = func(ctx context.Context, _ result.Case) {
		if !runnerSeen {
			return
		}
		// The runner ended the step at the leak; probe every denied cell
		// until none connects: the enforcer's resync repaired the flush.
		deadline := time.Now().Add(healTimeout)
		for {
			open, err := leaking(ctx, cl, tgt.denied)
			if err != nil {
				s.fail(err)
				return
			}
			if open == 0 {
				now := time.Now()
				s.window = now.Sub(firstLeak)
				s.notes = append(s.notes, fmt.Sprintf("leak window %s (repaired %s after the flush)",
					s.window.Round(time.Millisecond), now.Sub(flushedAt).Round(time.Millisecond)))
				return
			}
			if time.Now().After(deadline) {
				s.fail(fmt.Errorf("%d denied cells still connect %s after the flush", open, time.Since(flushedAt).Round(time.Millisecond)))
				return
			}
			time.Sleep(roundInterval)
		}
	}
	return s
}

// leaking probes the cells once and counts those that connected.
func leaking(ctx context.Context, cl *netns.Cluster, cells []cell) (int, error) {
	topo, err := cl.Topology(ctx)
	if err != nil {
		return 0, err
	}
	var probes []matrix.Cell
	for _, c := range cells {
		mc, err := c.probe(topo)
		if err != nil {
			return 0, err
		}
		probes = append(probes, mc)
	}
	obs, err := matrix.Run(ctx, cl.Prober(), probes, matrix.WithProbeTimeout(probeTimeout))
	if err != nil {
		return 0, err
	}
	open := 0
	for _, mc := range probes {
		switch r := obs.Results[mc.Key()]; r.Outcome {
		case agent.Connected:
			open++
		case agent.Error:
			return 0, fmt.Errorf("probe %s: %s", mc.Key(), r.Error)
		}
	}
	return open, nil
}

// armPauseWatches pauses the API watches after the last reset round, so
// step 0's actions never reach an enforcer. The dropped events stay lost;
// the case's cluster goes with them.
func armPauseWatches(cl *netns.Cluster, _ target) *strike {
	s := &strike{}
	s.hook = func(ri runner.RoundInfo) {
		if lastResetRound(ri) && s.fired == 0 {
			s.injected()
			cl.PauseWatches()
		}
	}
	s.after = func(context.Context, result.Case) { cl.ResumeWatches() }
	return s
}
