package runner

import (
	"encoding/json"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// CaseResult is what one case did. It is plain data, JSON-serialisable;
// in JSON, durations are Go duration strings ("1.5s").
type CaseResult struct {
	Name     string           `json:"name"`
	Features []string         `json:"features,omitempty"`
	Clauses  []model.ClauseID `json:"clauses,omitempty"`
	Passed   bool             `json:"passed"`
	// Error is an infrastructure failure (an action or a probe could not
	// run): the case says nothing about the enforcer.
	Error string `json:"error,omitempty"`
	// Failure is why the enforcer failed the case, when it did.
	Failure  string        `json:"failure,omitempty"`
	Duration time.Duration `json:"duration"`
	Steps    []StepResult  `json:"steps"`
}

// Totals adds up the summaries of the case's steps.
func (res CaseResult) Totals() Summary {
	var t Summary
	for _, sr := range res.Steps {
		s := sr.Summary
		t.Cells += s.Cells
		t.Judged += s.Judged
		t.Matched += s.Matched
		t.Mismatched += s.Mismatched
		t.Undefined += s.Undefined
		t.Errors += s.Errors
		t.Unproven += s.Unproven
		t.UnprovenRounds += s.UnprovenRounds
		t.LivenessProbes += s.LivenessProbes
		t.LeakRounds += s.LeakRounds
		t.LeaksAfterConvergence += s.LeaksAfterConvergence
		t.Flips += s.Flips
		t.LostAfterConvergence += s.LostAfterConvergence
	}
	return t
}

// StepResult is one step: its actions, then rounds of probes until the
// observed table matched the model's (and stayed so), or the deadline.
type StepResult struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Error is an infrastructure failure: nothing was learned about the
	// enforcer (probes could not run, the path was not proven, the cluster
	// does not hold what the case implies).
	Error string `json:"error,omitempty"`
	// Failure says why a step without Error failed: the enforcer's fault.
	Failure string `json:"failure,omitempty"`
	// Converged: the step ended with its stable and settle rounds all
	// matching.
	Converged bool `json:"converged"`
	// TimeToConverge runs from the end of the actions to the start of the
	// first round of the final run of rounds in which every judged cell
	// matched.
	TimeToConverge time.Duration        `json:"timeToConverge,omitempty"`
	Rounds         int                  `json:"rounds"`
	Deadline       time.Duration        `json:"deadline"`
	Pods           []string             `json:"pods"`
	Ports          []model.PortProtocol `json:"ports"`
	Cells          []Cell               `json:"cells"`
	Summary        Summary              `json:"summary"`
}

// Summary counts the cells of a step.
type Summary struct {
	Cells      int `json:"cells"`
	Judged     int `json:"judged"`
	Matched    int `json:"matched"`
	Mismatched int `json:"mismatched"`
	// Undefined cells are implementation-defined: probed, reported apart,
	// never judged.
	Undefined int `json:"undefined"`
	Errors    int `json:"errors"`
	// Unproven counts the cells of the last round that did not connect while
	// their path or server was not proven up: an infrastructure failure.
	Unproven int `json:"unproven"`
	// UnprovenRounds counts (cell, round) pairs that were unproven.
	UnprovenRounds int `json:"unprovenRounds"`
	// LivenessProbes is how many liveness probes each round carried.
	LivenessProbes int `json:"livenessProbes"`
	// LeakRounds counts (cell, round) pairs where a cell that must be denied
	// was observed connected before convergence: transient leaks.
	LeakRounds int `json:"leakRounds"`
	// LeaksAfterConvergence counts the same once convergence was stable (two
	// matching rounds in a row): a failure.
	LeaksAfterConvergence int `json:"leaksAfterConvergence"`
	// Flips counts outcome changes after stable convergence (flakes).
	Flips int `json:"flips"`
	// LostAfterConvergence counts (cell, round) pairs where an allowed cell
	// stopped connecting after stable convergence: a flaky step, a failure.
	LostAfterConvergence int `json:"lostAfterConvergence"`
}

// Cell is one source, destination, port and protocol of a step.
type Cell struct {
	From     string         `json:"from"`
	To       string         `json:"to"`
	Port     int32          `json:"port"`
	Protocol string         `json:"protocol"`
	Expected model.Decision `json:"expected"`
	// Observed is the outcome of the last round.
	Observed agent.Outcome `json:"observed"`
	// Match says whether Observed fits Expected (false for undefined cells).
	Match bool `json:"match"`
	// Unproven: in the last round the cell did not connect and its path or
	// server was not proven up (Unverified says what was missing), so the
	// outcome says nothing about the enforcer.
	Unproven       bool   `json:"unproven,omitempty"`
	Unverified     string `json:"unverified,omitempty"`
	UnprovenRounds int    `json:"unprovenRounds,omitempty"`
	// TimeToEnforce runs from the end of the actions to the start of the
	// first round in which the cell matched; absent if it never did.
	TimeToEnforce *time.Duration `json:"timeToEnforce,omitempty"`
	// LeakRounds and LeaksAfterConvergence: rounds in which the cell was
	// expected denied and observed connected, before and after convergence.
	LeakRounds            int `json:"leakRounds,omitempty"`
	LeaksAfterConvergence int `json:"leaksAfterConvergence,omitempty"`
	Flips                 int `json:"flips,omitempty"`
	LostAfterConvergence  int `json:"lostAfterConvergence,omitempty"`
	// Detail is the probe's own message for the last round (errors, refusals).
	Detail string `json:"detail,omitempty"`
	// Reasons is the model's argument for cells that failed.
	Reasons []model.Reason `json:"reasons,omitempty"`
}

// Judgement is what one observation of a cell says about the enforcer.
type Judgement int

const (
	// Mismatch: the observation contradicts the model.
	Mismatch Judgement = iota
	// Match: the observation fits the model.
	Match
	// Unproven: the cell did not connect, but the path or the server was
	// not proven up in the same round, so nothing was learned.
	Unproven
	// NotJudged: the model leaves the cell to the implementation.
	NotJudged
)

// Judge says what an observed outcome means against an expected decision.
// proven says whether the same round proved the destination's server up
// and the path between the two pods up (see proof.go).
//
// A connection with the right identity needs no proof: allowed matches,
// denied is a leak. Anything else that is not a connection (rejected,
// timeout, or refused: a filter may reset or answer port-unreachable) is a
// denial only when proven; without the proof a dead server, a lost route or
// a hung agent would pass as a denial, so the cell is Unproven, and the same
// holds for an allowed cell that failed to connect. A wrong peer is a
// mismatch (someone else holds the address), an error is never a verdict.
func Judge(expected model.Decision, observed agent.Outcome, proven bool) Judgement {
	if expected == model.Undefined {
		return NotJudged
	}
	switch observed {
	case agent.Connected:
		if expected == model.Allowed {
			return Match
		}
		return Mismatch
	case agent.WrongPeer:
		return Mismatch
	case agent.Rejected, agent.Timeout, agent.Refused:
		switch {
		case !proven:
			return Unproven
		case expected == model.Denied:
			return Match
		}
		return Mismatch
	}
	return Unproven
}

// The results' JSON writes durations as Go duration strings ("1.5s"),
// which time.ParseDuration reads back, rather than raw nanoseconds.

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		// Nanoseconds, as results written before this format had them.
		var ns int64
		if err2 := json.Unmarshal(b, &ns); err2 != nil {
			return err
		}
		*d = jsonDuration(ns)
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = jsonDuration(v)
	return err
}

func (res CaseResult) MarshalJSON() ([]byte, error) {
	type plain CaseResult
	return json.Marshal(struct {
		plain
		Duration jsonDuration `json:"duration"`
	}{plain(res), jsonDuration(res.Duration)})
}

func (res *CaseResult) UnmarshalJSON(b []byte) error {
	type plain CaseResult
	var aux struct {
		plain
		Duration jsonDuration `json:"duration"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*res = CaseResult(aux.plain)
	res.Duration = time.Duration(aux.Duration)
	return nil
}

func (sr StepResult) MarshalJSON() ([]byte, error) {
	type plain StepResult
	aux := struct {
		plain
		TimeToConverge *jsonDuration `json:"timeToConverge,omitempty"`
		Deadline       jsonDuration  `json:"deadline"`
	}{plain: plain(sr), Deadline: jsonDuration(sr.Deadline)}
	if sr.TimeToConverge != 0 {
		d := jsonDuration(sr.TimeToConverge)
		aux.TimeToConverge = &d
	}
	return json.Marshal(aux)
}

func (sr *StepResult) UnmarshalJSON(b []byte) error {
	type plain StepResult
	var aux struct {
		plain
		TimeToConverge jsonDuration `json:"timeToConverge"`
		Deadline       jsonDuration `json:"deadline"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*sr = StepResult(aux.plain)
	sr.TimeToConverge, sr.Deadline = time.Duration(aux.TimeToConverge), time.Duration(aux.Deadline)
	return nil
}

func (c Cell) MarshalJSON() ([]byte, error) {
	type plain Cell
	aux := struct {
		plain
		TimeToEnforce *jsonDuration `json:"timeToEnforce,omitempty"`
	}{plain: plain(c)}
	if c.TimeToEnforce != nil {
		d := jsonDuration(*c.TimeToEnforce)
		aux.TimeToEnforce = &d
	}
	return json.Marshal(aux)
}

func (c *Cell) UnmarshalJSON(b []byte) error {
	type plain Cell
	var aux struct {
		plain
		TimeToEnforce *jsonDuration `json:"timeToEnforce"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = Cell(aux.plain)
	if aux.TimeToEnforce != nil {
		d := time.Duration(*aux.TimeToEnforce)
		c.TimeToEnforce = &d
	}
	return nil
}
