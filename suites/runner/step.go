package runner

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// decisions are the expected decisions of a step's cells, so the next step
// knows which cells it changed.
type decisions map[cellKey]model.Decision

type cellKey struct {
	from, to model.PodRef
	port     model.PortProtocol
}

// allAllowed is the table before a case's first step: no policies.
var allAllowed decisions

// before is the decision of a cell in the step before: allowed where that
// step did not have the cell.
func (d decisions) before(c result.Cell) model.Decision {
	if v, ok := d[cellKey{c.From, c.To, c.PortProtocol}]; ok {
		return v
	}
	return model.Allowed
}

// stableRounds is how many matching rounds in a row make convergence stable.
const stableRounds = 2

// runStep applies the step's actions to the cluster and to state, checks
// that the cluster holds what state says, asks the model for the expected
// table of state, and probes in rounds until every judged cell matched and
// kept matching for settle more rounds, or the deadline passed. before are
// the expected decisions of the step before; it returns its own.
func (r *Runner) runStep(ctx context.Context, state *cases.State, step cases.Step, settle int, before decisions, at RoundInfo) (result.Step, decisions) {
	sr := result.Step{Name: step.Name, Deadline: r.deadline}
	if step.Deadline > 0 {
		sr.Deadline = step.Deadline
	}
	for _, a := range step.Actions {
		if err := apply(ctx, r.cluster, state, a); err != nil {
			sr.Error = result.Errorf(result.ErrorAction, "%v", err)
			return sr, before
		}
	}
	actionsDone := time.Now()

	topo, nps, ierr := r.expectedWorld(ctx, state)
	if ierr != nil {
		sr.Error = ierr
		return sr, before
	}
	if step.Unenforced {
		nps = nil
	}
	ports := step.Probes
	if len(ports) == 0 {
		ports = topo.PortProtocols()
	}
	table, err := model.TruthTable(topo, nps, ports)
	if err != nil {
		sr.Error = result.Errorf(result.ErrorModel, "%v", err)
		return sr, before
	}
	for _, p := range topo.Pods {
		sr.Pods = append(sr.Pods, p.Ref())
	}
	sr.Ports = table.Ports()
	live := livePods(topo)
	cells, probeCells, err := plan(live, table, before)
	if err != nil {
		sr.Error = result.Errorf(result.ErrorModel, "%v", err)
		return sr, before
	}
	after := make(decisions, len(cells))
	for _, c := range cells {
		after[cellKey{c.From, c.To, c.PortProtocol}] = c.Expected
	}
	liveness := livenessCells(live, topo.Nodes, table.Ports())
	sr.Summary.LivenessProbes = len(liveness)
	roundCells := append(append([]matrix.Cell(nil), probeCells...), liveness...)

	// A round in which every cell matches may be a lucky mix of old and new
	// rules (probes of one round run over a few milliseconds while the
	// enforcer works through the actions one by one). Convergence is
	// therefore stable only after stableRounds matching rounds in a row;
	// from then on a leak or a lost connection is a failure and any change
	// a flip, and the step passes only if it ends on an unbroken run of
	// matching rounds.
	end := actionsDone.Add(sr.Deadline)
	finish := roundsToFinish(settle)
	if !r.on(guardStableConvergence) {
		finish = 1 // one matching round passes: the mistake the guard prevents
	}
	streak, longest, stable := 0, 0, false
	for {
		roundStart := time.Now()
		obs, err := matrix.Run(ctx, r.cluster.Prober(), roundCells, matrix.WithProbeTimeout(r.probeTimeout))
		if err != nil {
			sr.Error = result.Errorf(result.ErrorProbe, "%v", err)
			break
		}
		sr.Rounds++
		if !r.on(guardProbeErrors) {
			obs = errorsAsTimeouts(obs)
		}
		if bad := firstError(obs, roundCells); bad != nil && r.on(guardProbeErrors) {
			// Errors are infrastructure failures, never "blocked".
			sr.Error = result.Errorf(result.ErrorProbe, "probes could not run (round %d), e.g. %s: %s", sr.Rounds, bad.Key(), obs.Results[bad.Key()].Error)
			recordLastRound(cells, probeCells, obs)
			streak = 0
			break
		}
		proof := newRoundProof(obs, live)
		allMatch := true
		at.Leaks, at.Wrong = 0, 0
		for i := range cells {
			c, pc := &cells[i], probeCells[i]
			res := obs.Results[pc.Key()]
			if stable && res.Outcome != c.Observed {
				c.Flips++
			}
			c.Observed, c.Detail = res.Outcome, res.Error
			if c.Expected == model.Denied && res.Outcome == agent.Connected {
				at.Leaks++
				if stable {
					c.LeaksAfterConvergence++
				} else {
					c.LeakRounds++
				}
			}
			c.Unverified = ""
			if res.Outcome != agent.Connected && c.Expected != model.Undefined {
				c.Unverified = proof.missing(pc)
			}
			proven := c.Unverified == "" || !r.on(guardDenialProof)
			j := Judge(c.Expected, res.Outcome, proven)
			if j == NotJudged {
				continue
			}
			c.Match, c.Unproven = j == Match, j == Unproven
			if c.Unproven {
				c.UnprovenRounds++
			}
			if stable && c.Expected == model.Allowed && j == Mismatch {
				c.LostAfterConvergence++
			}
			if c.Match && c.TimeToEnforce == nil {
				tte := roundStart.Sub(actionsDone)
				c.TimeToEnforce = &tte
			}
			allMatch = allMatch && c.Match
			if !c.Match {
				at.Wrong++
			}
		}
		at.Round, at.Stable = sr.Rounds, stable || (allMatch && streak+1 >= stableRounds)
		r.roundHook(at)
		if allMatch {
			if streak == 0 {
				sr.TimeToConverge = roundStart.Sub(actionsDone)
			}
			streak++
			longest = max(longest, streak)
			stable = stable || streak >= stableRounds
			if streak >= finish && time.Since(actionsDone) >= step.Hold {
				break
			}
		} else {
			streak = 0
		}
		if r.failedForGood(cells) || time.Now().After(end) {
			break
		}
		select {
		case <-ctx.Done():
			sr.Error = result.Errorf(result.ErrorInterrupted, "%v", ctx.Err())
		case <-time.After(r.pause(sr.Rounds)):
		}
		if sr.Error != nil {
			break
		}
	}
	sr.Cells = cells
	sr.Summary = summarize(cells, sr.Summary.LivenessProbes)
	sr.Converged = streak >= finish
	if !sr.Converged {
		sr.TimeToConverge = 0
	}
	r.verdict(&sr, finish, streak, longest, stable)
	explain(table, &sr)
	return sr, after
}

// expectedWorld returns the topology and policies the step is judged
// against: the state the case implies, once the cluster is seen to hold
// exactly that (guardCaseState), else what the cluster reports.
func (r *Runner) expectedWorld(ctx context.Context, state *cases.State) (*model.Topology, []*networkingv1.NetworkPolicy, *result.InfraError) {
	reported, err := r.cluster.Topology(ctx)
	if err != nil {
		return nil, nil, result.Errorf(result.ErrorCluster, "%v", err)
	}
	stored, err := policies(ctx, r.cluster)
	if err != nil {
		return nil, nil, result.Errorf(result.ErrorCluster, "%v", err)
	}
	if !r.on(guardCaseState) {
		return reported, stored, nil
	}
	if diffs := stateDiff(state, reported, stored); len(diffs) > 0 {
		return nil, nil, result.Errorf(result.ErrorClusterState, "the cluster does not hold what the case implies: %s", describeDiff(diffs))
	}
	return state.Topology, state.Policies, nil
}

// failedForGood says whether a failure after stable convergence has been
// seen: more rounds cannot undo it.
func (r *Runner) failedForGood(cells []result.Cell) bool {
	for _, c := range cells {
		if c.LeaksAfterConvergence > 0 || (c.LostAfterConvergence > 0 && r.on(guardLostAfterConvergence)) {
			return true
		}
	}
	return false
}

// verdict decides whether the step passed and, if not, says why: an Error
// when nothing was learned about the enforcer, a Failure when the enforcer
// did something wrong.
func (r *Runner) verdict(sr *result.Step, finish, streak, longest int, stable bool) {
	s := sr.Summary
	switch {
	case sr.Error != nil:
	case r.on(guardJudgedCells) && s.Judged == 0:
		sr.Error = result.Errorf(result.ErrorNothingJudged, "no cell was judged (%d cells, %d undefined): the step tests nothing", s.Cells, s.Undefined)
	case s.LeaksAfterConvergence > 0:
		sr.Failure = fmt.Sprintf("%d denied cell-rounds connected after convergence", s.LeaksAfterConvergence)
	case s.LostAfterConvergence > 0 && r.on(guardLostAfterConvergence):
		sr.Failure = fmt.Sprintf("flaky: %d allowed cell-rounds stopped connecting after convergence", s.LostAfterConvergence)
	case sr.Converged:
	case s.Unproven > 0:
		sr.Error = result.Errorf(result.ErrorUnproven, "%d cells did not connect while their path or server was not proven up, so they say nothing about the enforcer; e.g. %s",
			s.Unproven, firstUnproven(sr.Cells))
	case stable:
		sr.Failure = fmt.Sprintf("did not stay converged: matched %d rounds in a row, later did not, and ended on %d of the %d matching rounds in a row a pass needs (%d rounds within %s)",
			longest, streak, finish, sr.Rounds, sr.Deadline)
	case longest > 0:
		sr.Failure = fmt.Sprintf("did not converge stably: never %d matching rounds in a row within %s", min(finish, stableRounds), sr.Deadline)
	default:
		sr.Failure = fmt.Sprintf("did not converge within %s: %d of %d judged cells wrong in the last round", sr.Deadline, s.Mismatched, s.Judged)
	}
	sr.Passed = sr.Error == nil && sr.Failure == ""
}

func firstUnproven(cells []result.Cell) string {
	for _, c := range cells {
		if c.Unproven {
			return fmt.Sprintf("%s observed %s: %s", c.Key(), c.Observed, c.Unverified)
		}
	}
	return ""
}

// firstError returns the first cell of the round whose probe could not run.
func firstError(obs matrix.Observed, cells []matrix.Cell) *matrix.Cell {
	for i := range cells {
		if obs.Results[cells[i].Key()].Outcome == agent.Error {
			return &cells[i]
		}
	}
	return nil
}

// errorsAsTimeouts is what the judging would see if probe errors were read
// as silence: the mistake guardProbeErrors prevents.
func errorsAsTimeouts(obs matrix.Observed) matrix.Observed {
	out := matrix.Observed{Results: make(map[matrix.Key]agent.Result, len(obs.Results))}
	for k, r := range obs.Results {
		if r.Outcome == agent.Error {
			r.Outcome = agent.Timeout
		}
		out.Results[k] = r
	}
	return out
}

// recordLastRound keeps the outcomes of a round that was not judged, so the
// report shows what the probes said.
func recordLastRound(cells []result.Cell, probeCells []matrix.Cell, obs matrix.Observed) {
	for i := range cells {
		res := obs.Results[probeCells[i].Key()]
		cells[i].Observed, cells[i].Detail, cells[i].Match = res.Outcome, res.Error, false
	}
}

// pause is the wait before the next round: the round interval at first,
// growing to ten times it for steps that take long, so a step stuck until
// its deadline does not hog the machine.
func (r *Runner) pause(rounds int) time.Duration {
	return r.roundInterval * time.Duration(min(1+rounds/10, 10))
}

// roundsToFinish is how many matching rounds in a row end a step: enough
// to make convergence stable, then settle more to watch for leaks and flips.
// With settle 0 the first matching round ends it (the reset uses this).
func roundsToFinish(settle int) int {
	if settle == 0 {
		return 1
	}
	return stableRounds + settle
}

// livePods are the pods that run and have an IP: only they can probe and
// answer.
func livePods(topo *model.Topology) []model.Pod {
	var live []model.Pod
	for _, p := range topo.Pods {
		if p.IP != "" && (p.Phase == "" || p.Phase == corev1.PodRunning) {
			live = append(live, p)
		}
	}
	return live
}

// plan lists the cells of a step: every ordered pair of live pods (self
// pairs included) on every table port the destination declares. A port the
// destination does not serve would only measure "nothing listens".
func plan(live []model.Pod, table *model.Table, before decisions) ([]result.Cell, []matrix.Cell, error) {
	var cells []result.Cell
	var probeCells []matrix.Cell
	for _, from := range live {
		for _, to := range live {
			for _, pp := range table.Ports() {
				if !to.Serves(pp) {
					continue
				}
				v, err := table.Verdict(from.Ref(), to.Ref(), pp)
				if err != nil {
					return nil, nil, err
				}
				c := result.Cell{From: from.Ref(), To: to.Ref(), PortProtocol: pp, Expected: v.Allowed}
				c.Changed = v.Allowed != before.before(c)
				cells = append(cells, c)
				probeCells = append(probeCells, matrix.Cell{
					From:     from.Ref().String(),
					To:       matrix.Target{Pod: to.Ref().String(), IP: to.IP},
					Port:     pp.Port,
					Protocol: string(pp.Protocol),
				})
			}
		}
	}
	return cells, probeCells, nil
}

func summarize(cells []result.Cell, liveness int) result.Summary {
	s := result.Summary{Cells: len(cells), LivenessProbes: liveness}
	for _, c := range cells {
		switch {
		case c.Expected == model.Undefined:
			s.Undefined++
		case c.Match:
			s.Judged++
			s.Matched++
		case c.Unproven:
			s.Judged++
			s.Unproven++
		default:
			s.Judged++
			s.Mismatched++
		}
		if c.Observed == agent.Error {
			s.Errors++
		}
		s.LeakRounds += c.LeakRounds
		s.LeaksAfterConvergence += c.LeaksAfterConvergence
		s.Flips += c.Flips
		s.LostAfterConvergence += c.LostAfterConvergence
		s.UnprovenRounds += c.UnprovenRounds
	}
	return s
}

// explain attaches the model's reasons to every cell: the argument for
// its expected decision, shown next to wrong cells and on hover in reports.
func explain(table *model.Table, sr *result.Step) {
	for i := range sr.Cells {
		c := &sr.Cells[i]
		if v, err := table.Explain(c.From, c.To, c.PortProtocol); err == nil {
			c.Reasons = v.Reasons
		}
	}
}
