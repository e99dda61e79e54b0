package result

import (
	"fmt"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Verdict is what a case or a step says about the enforcer under test.
type Verdict string

const (
	// Passed: every judged cell matched the model, and kept matching.
	Passed Verdict = "passed"
	// Failed: the enforcer did something the model forbids.
	Failed Verdict = "failed"
	// Errored: an infrastructure failure; nothing was learned about the
	// enforcer.
	Errored Verdict = "error"
)

// ErrorKind classifies an infrastructure failure.
type ErrorKind string

const (
	// ErrorAction: an action of the step (a policy, a label, a pod) could
	// not be applied to the cluster.
	ErrorAction ErrorKind = "action"
	// ErrorProbe: probes could not run (exec failed, an agent died).
	ErrorProbe ErrorKind = "probe"
	// ErrorUnproven: cells did not connect while their path or server was
	// not proven up, so they say nothing about the enforcer.
	ErrorUnproven ErrorKind = "unproven"
	// ErrorClusterState: the cluster does not hold what the case implies.
	ErrorClusterState ErrorKind = "cluster-state"
	// ErrorModel: the model could not judge the step.
	ErrorModel ErrorKind = "model"
	// ErrorNothingJudged: every cell of the step was undefined; it tests
	// nothing.
	ErrorNothingJudged ErrorKind = "nothing-judged"
	// ErrorReset: the cluster could not be brought back to the case's
	// topology without policies before its first step.
	ErrorReset ErrorKind = "reset"
	// ErrorInterrupted: the run was stopped while the step ran.
	ErrorInterrupted ErrorKind = "interrupted"
	// ErrorCluster: the cluster itself could not be read.
	ErrorCluster ErrorKind = "cluster"
)

// InfraError is an infrastructure failure: the case or step could not be
// judged. It is never a verdict on the enforcer.
type InfraError struct {
	Kind    ErrorKind `json:"kind"`
	Message string    `json:"message"`
}

func (e *InfraError) Error() string { return fmt.Sprintf("%s: %s", e.Kind, e.Message) }

// Errorf returns an InfraError of kind.
func Errorf(kind ErrorKind, format string, args ...any) *InfraError {
	return &InfraError{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Profiles of the conformance report.
const (
	// ProfileCore: the curated spec cases.
	ProfileCore = "core"
	// ProfileExtended: generated cases.
	ProfileExtended = "extended"
	// ProfileImplementationDefined: what the API leaves to the
	// implementation (traffic from a pod to itself, from nodes, from
	// hostNetwork pods).
	ProfileImplementationDefined = "implementation-defined"
)

// Profiles lists the profiles in report order.
func Profiles() []string {
	return []string{ProfileCore, ProfileExtended, ProfileImplementationDefined}
}

// Case is what one case did.
type Case struct {
	Name     string           `json:"name"`
	Profile  string           `json:"profile"`
	Features []string         `json:"features,omitempty"`
	Clauses  []model.ClauseID `json:"clauses,omitempty"`
	Passed   bool             `json:"passed"`
	// Error is an infrastructure failure: the case says nothing about the
	// enforcer.
	Error *InfraError `json:"error,omitempty"`
	// Failure is why the enforcer failed the case, when it did.
	Failure  string        `json:"failure,omitempty"`
	Duration time.Duration `json:"duration"`
	// Steps are the steps that ran; a failed case stops at its failed step.
	// A reset that failed is the one step, named ResetStep.
	Steps []Step `json:"steps"`
	// Reproduce is the state of the failing step as manifests, when the
	// case failed and they could be rendered.
	Reproduce *Reproduction `json:"reproduce,omitempty"`
}

// ResetStep is the name of the step that brings the cluster to a case's
// topology without policies before its first step.
const ResetStep = "reset to the case's topology without policies"

// Verdict is Passed, Failed or Errored.
func (c Case) Verdict() Verdict {
	switch {
	case c.Error != nil:
		return Errored
	case !c.Passed:
		return Failed
	}
	return Passed
}

// Why is the one line that says why the case did not pass ("" if it did).
func (c Case) Why() string {
	if c.Error != nil {
		return "infrastructure error: " + c.Error.Error()
	}
	return c.Failure
}

// Totals adds up the summaries of the case's steps.
func (c Case) Totals() Summary {
	var t Summary
	for _, s := range c.Steps {
		t.Add(s.Summary)
	}
	return t
}

// FailedStep is the step that failed (nil when none did).
func (c Case) FailedStep() *Step {
	for i := range c.Steps {
		if !c.Steps[i].Passed {
			return &c.Steps[i]
		}
	}
	return nil
}

// Reproduction is the state in force at a failed case's failing step.
type Reproduction struct {
	// Step counts from 1; 0 means before the first step (the reset to the
	// case's topology failed).
	Step     int    `json:"step"`
	StepName string `json:"stepName"`
	// Probes are the ports and protocols the step probed, as 80/TCP.
	Probes []string `json:"probes"`
	// Manifests is a multi-document YAML stream with a comment header:
	// kubectl apply -f rebuilds the step on any cluster.
	Manifests string `json:"manifests"`
}

// Step is one step: its actions, then rounds of probes until the observed
// table matched the model's (and stayed so), or the deadline.
type Step struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Error is an infrastructure failure: nothing was learned about the
	// enforcer (probes could not run, the path was not proven, the cluster
	// does not hold what the case implies).
	Error *InfraError `json:"error,omitempty"`
	// Failure says why a step without Error failed: the enforcer's fault.
	Failure string `json:"failure,omitempty"`
	// Converged: the step ended with its stable and settle rounds all
	// matching.
	Converged bool `json:"converged"`
	// TimeToConverge runs from the end of the actions to the start of the
	// first round of the final run of rounds in which every judged cell
	// matched; zero when it did not converge.
	TimeToConverge time.Duration        `json:"timeToConverge,omitempty"`
	Rounds         int                  `json:"rounds"`
	Deadline       time.Duration        `json:"deadline"`
	Pods           []model.PodRef       `json:"pods"`
	Ports          []model.PortProtocol `json:"ports"`
	Cells          []Cell               `json:"cells"`
	Summary        Summary              `json:"summary"`
}

// Verdict is Passed, Failed or Errored.
func (s Step) Verdict() Verdict {
	switch {
	case s.Error != nil:
		return Errored
	case !s.Passed:
		return Failed
	}
	return Passed
}

// Summary counts the cells of a step, or of many.
type Summary struct {
	Cells      int `json:"cells"`
	Judged     int `json:"judged"`
	Matched    int `json:"matched"`
	Mismatched int `json:"mismatched"`
	// Undefined cells are implementation-defined: probed, reported apart,
	// never judged.
	Undefined int `json:"undefined"`
	// Errors counts the cells whose last probe could not run.
	Errors int `json:"errors"`
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

// Add adds o's counts to s.
func (s *Summary) Add(o Summary) {
	s.Cells += o.Cells
	s.Judged += o.Judged
	s.Matched += o.Matched
	s.Mismatched += o.Mismatched
	s.Undefined += o.Undefined
	s.Errors += o.Errors
	s.Unproven += o.Unproven
	s.UnprovenRounds += o.UnprovenRounds
	s.LivenessProbes += o.LivenessProbes
	s.LeakRounds += o.LeakRounds
	s.LeaksAfterConvergence += o.LeaksAfterConvergence
	s.Flips += o.Flips
	s.LostAfterConvergence += o.LostAfterConvergence
}

// Cell is one source, destination, port and protocol of a step.
type Cell struct {
	From model.PodRef `json:"from"`
	To   model.PodRef `json:"to"`
	model.PortProtocol
	// Expected is the model's decision, Reasons its argument.
	Expected model.Decision `json:"expected"`
	Reasons  []model.Reason `json:"reasons,omitempty"`
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
	// Changed: the expected decision differs from the step before (the
	// first step follows the reset, where no policy exists). Its
	// time-to-enforce measures the enforcer's reaction.
	Changed bool `json:"changed,omitempty"`
	// TimeToEnforce runs from the end of the actions to the start of the
	// first round in which the cell matched; nil if it never did.
	TimeToEnforce *time.Duration `json:"timeToEnforce,omitempty"`
	// LeakRounds and LeaksAfterConvergence: rounds in which the cell was
	// expected denied and observed connected, before and after convergence.
	LeakRounds            int `json:"leakRounds,omitempty"`
	LeaksAfterConvergence int `json:"leaksAfterConvergence,omitempty"`
	Flips                 int `json:"flips,omitempty"`
	LostAfterConvergence  int `json:"lostAfterConvergence,omitempty"`
	// Detail is the probe's own message for the last round (the error of a
	// probe that could not run, the errno of a refusal).
	Detail string `json:"detail,omitempty"`
}

// Judged says whether the cell counts for the verdict: the model decided it.
func (c Cell) Judged() bool { return c.Expected != model.Undefined }

// Wrong says whether the cell is one a report must point at: judged and not
// matching, or leaked after convergence.
func (c Cell) Wrong() bool {
	return (c.Judged() && !c.Match) || c.LeaksAfterConvergence > 0
}

// Key names the cell in messages: "x/a -> y/b 80/TCP".
func (c Cell) Key() string {
	return fmt.Sprintf("%s -> %s %d/%s", c.From, c.To, c.Port, c.Protocol)
}
