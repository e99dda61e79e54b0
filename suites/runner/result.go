package runner

import (
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// CaseResult is what one case did. It is plain data, JSON-serialisable;
// durations are nanoseconds.
type CaseResult struct {
	Name     string           `json:"name"`
	Features []string         `json:"features,omitempty"`
	Clauses  []model.ClauseID `json:"clauses,omitempty"`
	Passed   bool             `json:"passed"`
	// Error is an infrastructure failure (an action or a probe could not
	// run): the case says nothing about the enforcer.
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
	Steps    []StepResult  `json:"steps"`
}

// StepResult is one step: its actions, then rounds of probes until the
// observed table matched the model's (and stayed so), or the deadline.
type StepResult struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Error  string `json:"error,omitempty"`
	// Converged: every judged cell matched in the last round.
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
	// LeakRounds counts (cell, round) pairs where a cell that must be denied
	// was observed connected before convergence: transient leaks.
	LeakRounds int `json:"leakRounds"`
	// LeaksAfterConvergence counts the same once convergence was stable (two
	// matching rounds in a row): a failure.
	LeaksAfterConvergence int `json:"leaksAfterConvergence"`
	// Flips counts outcome changes after stable convergence (flakes).
	Flips int `json:"flips"`
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
	// TimeToEnforce runs from the end of the actions to the start of the
	// first round in which the cell matched; absent if it never did.
	TimeToEnforce *time.Duration `json:"timeToEnforce,omitempty"`
	// LeakRounds and LeaksAfterConvergence: rounds in which the cell was
	// expected denied and observed connected, before and after convergence.
	LeakRounds            int `json:"leakRounds,omitempty"`
	LeaksAfterConvergence int `json:"leaksAfterConvergence,omitempty"`
	Flips                 int `json:"flips,omitempty"`
	// Detail is the probe's own message for the last round (errors, refusals).
	Detail string `json:"detail,omitempty"`
	// Reasons is the model's argument for cells that failed.
	Reasons []model.Reason `json:"reasons,omitempty"`
}

// Judge says whether an observed outcome fits an expected decision. Allowed
// wants connected. Denied wants rejected or timeout, or refused while the
// destination's server is known to be up (serverUp: its own probe of the same
// port connected in the same round), because then the RST or ICMP
// port-unreachable came from a filter (REJECT --reject-with tcp-reset or the
// iptables default). Without that proof a refusal may be a dead server, and
// counting it as a denial would turn an infrastructure failure into a pass.
// A wrong peer or an error is never a denial. Undefined cells are not judged.
func Judge(expected model.Decision, observed agent.Outcome, serverUp bool) bool {
	switch expected {
	case model.Allowed:
		return observed == agent.Connected
	case model.Denied:
		return observed == agent.Rejected || observed == agent.Timeout ||
			(observed == agent.Refused && serverUp)
	}
	return false
}
