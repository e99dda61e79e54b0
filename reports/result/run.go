package result

import (
	"time"
)

// Run is what ran, where and when: the first record of a run.
type Run struct {
	// ID names the run and its report directory, e.g. 20261129-223740-npc-hcd1.
	ID string `json:"id"`
	// Netpolcheck is the harness's version; Commit its VCS revision.
	Netpolcheck string `json:"netpolcheck"`
	Commit      string `json:"commit,omitempty"`
	// Suite is what drove the run: "netpolcheck run", or a Ginkgo suite.
	Suite string `json:"suite"`
	// Provider is netns, kind or existing; Cluster the cluster's name.
	Provider string `json:"provider"`
	Cluster  string `json:"cluster"`
	// Kubernetes is the API server's version, or what stands in for one.
	Kubernetes string `json:"kubernetes"`
	// Enforcer is the implementation under test.
	Enforcer Implementation `json:"enforcer"`
	Start    time.Time      `json:"start"`
	// Seed drives generated cases; zero when none ran.
	Seed int64 `json:"seed,omitempty"`
	// Selected counts the cases the run set out to run; Library counts the
	// cases of the library per profile, so a report knows what was skipped.
	Selected int            `json:"selected"`
	Library  map[string]int `json:"library,omitempty"`
}

// Implementation is an enforcer under test.
type Implementation struct {
	// Kind is how it was installed: reference, none or manifests.
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Preflight is the proof, before the first case, that the cluster can judge
// the enforcer: the baseline matrix and the canary policy.
type Preflight struct {
	Passed bool `json:"passed"`
	// Error says why it did not pass.
	Error            *InfraError   `json:"error,omitempty"`
	Duration         time.Duration `json:"duration"`
	CanaryEnforcedIn time.Duration `json:"canaryEnforcedIn,omitempty"`
	// Case holds the preflight's steps, for the grids of a failed one.
	Case Case `json:"case"`
}

// End is the last record of a run that ended on its own terms; a run killed
// before it has none, and its reports say incomplete.
type End struct {
	End time.Time `json:"end"`
	// Interrupted says what the run was doing when a signal stopped it.
	Interrupted string `json:"interrupted,omitempty"`
	// Error is a failure of the run itself (the cluster could not be built
	// or destroyed, the preflight did not pass).
	Error *InfraError `json:"error,omitempty"`
}

// Set is one run's results: what the JSON Lines hold.
type Set struct {
	Run       Run        `json:"run"`
	Preflight *Preflight `json:"preflight,omitempty"`
	Cases     []Case     `json:"cases"`
	// End is nil when the run was killed before it ended: the set is
	// incomplete.
	End *End `json:"end,omitempty"`
}

// Complete says whether the run ended on its own terms, having run every
// case it selected.
func (s *Set) Complete() bool {
	return s.End != nil && s.End.Interrupted == "" && s.End.Error == nil && len(s.Cases) == s.Run.Selected
}

// Totals counts a set's cases by verdict, and adds up their cells.
type Totals struct {
	Selected int `json:"selected"`
	Ran      int `json:"ran"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Errors   int `json:"errors"`
	// Cells adds up every step of every case.
	Cells Summary `json:"cells"`
}

// NotRun counts the selected cases that did not run.
func (t Totals) NotRun() int { return t.Selected - t.Ran }

// Totals counts the set's cases.
func (s *Set) Totals() Totals {
	t := Totals{Selected: s.Run.Selected, Ran: len(s.Cases)}
	for _, c := range s.Cases {
		switch c.Verdict() {
		case Passed:
			t.Passed++
		case Failed:
			t.Failed++
		case Errored:
			t.Errors++
		}
		t.Cells.Add(c.Totals())
	}
	return t
}

// Outcome is the run's overall verdict, the one its exit code gives: an
// unfinished run says so first, then infrastructure errors (some cases
// taught nothing), then failures.
type Outcome string

const (
	OutcomePassed     Outcome = "passed"
	OutcomeFailed     Outcome = "failed"
	OutcomeError      Outcome = "error"
	OutcomeIncomplete Outcome = "incomplete"
)

// Outcome is the set's overall verdict.
func (s *Set) Outcome() Outcome {
	t := s.Totals()
	switch {
	case s.End != nil && s.End.Error != nil:
		return OutcomeError
	case !s.Complete():
		return OutcomeIncomplete
	case t.Errors > 0:
		return OutcomeError
	case t.Failed > 0:
		return OutcomeFailed
	}
	return OutcomePassed
}

// TimesToEnforce lists the time-to-enforce of every cell whose expected
// decision a step changed and that came to match, in case and cell order:
// how long the enforcer took to carry out a change.
func (s *Set) TimesToEnforce() []time.Duration {
	var out []time.Duration
	for _, c := range s.Cases {
		for _, st := range c.Steps {
			if st.Name == ResetStep {
				continue
			}
			for _, cell := range st.Cells {
				if cell.Changed && cell.TimeToEnforce != nil {
					out = append(out, *cell.TimeToEnforce)
				}
			}
		}
	}
	return out
}
