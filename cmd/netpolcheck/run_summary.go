package main

import (
	"fmt"
	"io"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// runSummary adds up the cases a run finished.
type runSummary struct {
	ran    int
	failed []string // failed by the enforcer under test
	infra  []string // could not be judged: a non-empty Error
	totals result.Summary
}

func (s *runSummary) add(res result.Case) {
	s.ran++
	t := res.Totals()
	s.totals.LeakRounds += t.LeakRounds
	s.totals.UnprovenRounds += t.UnprovenRounds
	switch {
	case res.Error != nil:
		s.infra = append(s.infra, res.Name)
	case !res.Passed:
		s.failed = append(s.failed, res.Name)
	}
}

// outcome is the run's error and so its exit code: an interrupt (while
// doing what) wins, then infrastructure errors (some cases taught nothing
// about the enforcer, so a failure elsewhere is not the whole story), then
// failures.
func (s *runSummary) outcome(interrupt string) error {
	switch {
	case interrupt != "":
		return interrupted(interrupt)
	case len(s.infra) > 0:
		return infraError(fmt.Errorf("%s of %d hit infrastructure errors (they say nothing about the enforcer), %d failed",
			plural(len(s.infra), "case"), s.ran, len(s.failed)))
	case len(s.failed) > 0:
		return failed(fmt.Errorf("%s of %d failed", plural(len(s.failed), "case"), s.ran))
	}
	return nil
}

// runInfo is what a summary says about the run besides its cases.
type runInfo struct {
	selected    int
	took        time.Duration
	provider    string
	cluster     string
	enforcer    string
	interrupted bool
}

// write prints the summary of the finished cases, then the names of the
// failed ones.
func (s *runSummary) write(w io.Writer, info runInfo) {
	count := plural(s.ran, "case")
	if info.interrupted {
		count = fmt.Sprintf("interrupted after %d of %s", s.ran, plural(info.selected, "case"))
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %s in %s on %s with enforcer %s\n",
		count, s.ran-len(s.failed)-len(s.infra), len(s.failed), plural(len(s.infra), "infrastructure error"),
		info.took.Round(time.Millisecond), info.cluster, info.enforcer)
	fmt.Fprintf(w, "cell-rounds: %d leaked (a denied cell connected), %d unproven (no connection while the path or the server was not proven up)\n",
		s.totals.LeakRounds, s.totals.UnprovenRounds)
	for _, name := range s.failed {
		fmt.Fprintln(w, "  FAIL", name)
	}
	for _, name := range s.infra {
		fmt.Fprintln(w, "  ERROR", name)
	}
}

// plural is "1 case", "2 cases".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// summaryObject is run -o json|yaml: the summary as data (docs/cli.md).
type summaryObject struct {
	Selected             int  `json:"selected"`
	Ran                  int  `json:"ran"`
	Passed               int  `json:"passed"`
	Failed               int  `json:"failed"`
	InfrastructureErrors int  `json:"infrastructureErrors"`
	Interrupted          bool `json:"interrupted"`
	// Duration is a Go duration string (time.ParseDuration reads it).
	Duration                 string   `json:"duration"`
	Provider                 string   `json:"provider"`
	Cluster                  string   `json:"cluster"`
	Enforcer                 string   `json:"enforcer"`
	FailedCases              []string `json:"failedCases"`
	InfrastructureErrorCases []string `json:"infrastructureErrorCases"`
	LeakRounds               int      `json:"leakRounds"`
	UnprovenRounds           int      `json:"unprovenRounds"`
}

func (s *runSummary) object(info runInfo) summaryObject {
	return summaryObject{
		Selected:                 info.selected,
		Ran:                      s.ran,
		Passed:                   s.ran - len(s.failed) - len(s.infra),
		Failed:                   len(s.failed),
		InfrastructureErrors:     len(s.infra),
		Interrupted:              info.interrupted,
		Duration:                 info.took.Round(time.Millisecond).String(),
		Provider:                 info.provider,
		Cluster:                  info.cluster,
		Enforcer:                 info.enforcer,
		FailedCases:              append([]string{}, s.failed...),
		InfrastructureErrorCases: append([]string{}, s.infra...),
		LeakRounds:               s.totals.LeakRounds,
		UnprovenRounds:           s.totals.UnprovenRounds,
	}
}
