package runner

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// stableRounds is how many matching rounds in a row make convergence stable.
const stableRounds = 2

// runStep applies the step's actions, asks the model for the expected table
// of the cluster as it now is, and probes in rounds until every judged cell
// matched and kept matching for settle more rounds, or the deadline passed.
func (r *Runner) runStep(ctx context.Context, step cases.Step, settle int) StepResult {
	sr := StepResult{Name: step.Name, Deadline: r.deadline}
	if step.Deadline > 0 {
		sr.Deadline = step.Deadline
	}
	for _, a := range step.Actions {
		if err := apply(ctx, r.cluster, a); err != nil {
			sr.Error = "action failed: " + err.Error()
			return sr
		}
	}
	actionsDone := time.Now()

	topo, err := r.cluster.Topology(ctx)
	if err != nil {
		sr.Error = err.Error()
		return sr
	}
	nps, err := policies(ctx, r.cluster)
	if err != nil {
		sr.Error = err.Error()
		return sr
	}
	ports := step.Probes
	if len(ports) == 0 {
		ports = topo.PortProtocols()
	}
	table, err := model.TruthTable(topo, nps, ports)
	if err != nil {
		sr.Error = "model: " + err.Error()
		return sr
	}
	for _, p := range topo.Pods {
		sr.Pods = append(sr.Pods, p.Ref().String())
	}
	sr.Ports = table.Ports()
	cells, probeCells, err := plan(topo, table)
	if err != nil {
		sr.Error = "model: " + err.Error()
		return sr
	}

	// A round in which every cell matches may be a lucky mix of old and new
	// rules (probes of one round run over a few milliseconds while the
	// enforcer works through the actions one by one). Convergence is
	// therefore stable only after stableRounds matching rounds in a row;
	// from then on a leak is a failure and a change is a flip.
	end := actionsDone.Add(sr.Deadline)
	streak, stable := 0, false
	for {
		roundStart := time.Now()
		obs, err := matrix.Run(ctx, r.cluster.Prober(), probeCells, matrix.WithProbeTimeout(r.probeTimeout))
		if err != nil {
			sr.Error = "probe: " + err.Error()
			break
		}
		sr.Rounds++
		allMatch := true
		var firstErr *Cell
		serversUp := serversUp(probeCells, obs)
		for i := range cells {
			c := &cells[i]
			res := obs.Results[probeCells[i].Key()]
			if stable && res.Outcome != c.Observed {
				c.Flips++
			}
			c.Observed, c.Detail = res.Outcome, res.Error
			if res.Outcome == agent.Error && firstErr == nil {
				firstErr = c
			}
			if c.Expected == model.Denied && res.Outcome == agent.Connected {
				if stable {
					c.LeaksAfterConvergence++
				} else {
					c.LeakRounds++
				}
			}
			if c.Expected == model.Undefined {
				continue
			}
			c.Match = Judge(c.Expected, res.Outcome, serversUp[serverKey(probeCells[i])])
			if c.Match && c.TimeToEnforce == nil {
				tte := roundStart.Sub(actionsDone)
				c.TimeToEnforce = &tte
			}
			allMatch = allMatch && c.Match
		}
		if firstErr != nil {
			// Errors are infrastructure failures, never "blocked".
			sr.Error = fmt.Sprintf("probes could not run (round %d), e.g. %s -> %s %d/%s: %s",
				sr.Rounds, firstErr.From, firstErr.To, firstErr.Port, firstErr.Protocol, firstErr.Detail)
			streak = 0
			break
		}
		if allMatch {
			if streak == 0 {
				sr.TimeToConverge = roundStart.Sub(actionsDone)
			}
			streak++
			stable = stable || streak >= stableRounds
			if streak >= roundsToFinish(settle) {
				break
			}
		} else {
			streak = 0
		}
		if time.Now().After(end) {
			break
		}
		select {
		case <-ctx.Done():
			sr.Error = "interrupted: " + ctx.Err().Error()
		case <-time.After(r.pause(sr.Rounds)):
		}
		if sr.Error != "" {
			break
		}
	}
	converged := streak > 0
	if !converged {
		sr.TimeToConverge = 0
	}
	sr.Converged = converged
	sr.Cells = cells
	sr.Summary = summarize(cells)
	sr.Passed = sr.Error == "" && converged && sr.Summary.LeaksAfterConvergence == 0
	explainFailures(table, &sr)
	return sr
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

// plan lists the cells of a step: every ordered pair of running pods with an
// IP (self pairs included) on every table port the destination declares. A
// port the destination does not serve would only measure "nothing listens";
// a pod that does not run can neither probe nor answer.
func plan(topo *model.Topology, table *model.Table) ([]Cell, []matrix.Cell, error) {
	var cells []Cell
	var probeCells []matrix.Cell
	var live []model.Pod
	for _, p := range topo.Pods {
		if p.IP != "" && (p.Phase == "" || p.Phase == corev1.PodRunning) {
			live = append(live, p)
		}
	}
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
				cells = append(cells, Cell{
					From: from.Ref().String(), To: to.Ref().String(),
					Port: pp.Port, Protocol: string(pp.Protocol),
					Expected: v.Allowed,
				})
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

// serverKey names the server a probe cell reaches: destination, port, protocol.
func serverKey(c matrix.Cell) matrix.Key {
	return matrix.Key{To: c.To.Pod, Port: c.Port, Protocol: c.Protocol}
}

// serversUp lists the servers that answered their own pod in this round. A
// pod reaching itself is never filtered (NP-SELF) and never leaves its
// network namespace, so a connected self cell proves the server listens.
func serversUp(probeCells []matrix.Cell, obs matrix.Observed) map[matrix.Key]bool {
	up := map[matrix.Key]bool{}
	for _, pc := range probeCells {
		if pc.From == pc.To.Pod && obs.Results[pc.Key()].Outcome == agent.Connected {
			up[serverKey(pc)] = true
		}
	}
	return up
}

func summarize(cells []Cell) Summary {
	s := Summary{Cells: len(cells)}
	for _, c := range cells {
		switch {
		case c.Expected == model.Undefined:
			s.Undefined++
		case c.Match:
			s.Judged++
			s.Matched++
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
	}
	return s
}

// explainFailures attaches the model's reasons to the cells that failed.
func explainFailures(table *model.Table, sr *StepResult) {
	for i := range sr.Cells {
		c := &sr.Cells[i]
		failed := (c.Expected != model.Undefined && !c.Match) || c.LeaksAfterConvergence > 0
		if !failed {
			continue
		}
		from, err1 := model.ParsePodRef(c.From)
		to, err2 := model.ParsePodRef(c.To)
		if err1 != nil || err2 != nil {
			continue
		}
		v, err := table.Explain(from, to, model.PortProtocol{Port: c.Port, Protocol: corev1.Protocol(c.Protocol)})
		if err == nil {
			c.Reasons = v.Reasons
		}
	}
}
