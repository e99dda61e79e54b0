package faults

import (
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// row is one fault's line of the table.
type row struct {
	fault  string
	expect expectation
	window string // fault.window
	run    int
	// falsePasses: passed where the fault forbids it; falseFails: did not
	// pass where a pass is expected (the restart fault).
	falsePasses, falseFails int
	leaks, infraErrors      int
	failures                int
	// expected counts cases reported as expect says.
	expected int
	windows  []time.Duration
	// falseFailWhy is the first false fail's report.
	falseFailWhy string
	// problems make the suite fail: injections that did not happen,
	// failed, or had no effect, and cases that could not be set up.
	problems []string
}

func (r *row) problem(format string, args ...any) {
	r.problems = append(r.problems, r.fault+": "+fmt.Sprintf(format, args...))
}

// add classifies one case's result under the fault.
func (r *row) add(t *testing.T, c cases.Case, tgt target, res result.Case, s *strike) {
	t.Helper()
	s.mu.Lock()
	fired, errs, noEffect, notes := s.fired, s.errs, s.noEffect, s.notes
	s.mu.Unlock()
	r.run++
	got := expectPass
	switch {
	case res.Error != nil:
		got = expectInfraError
		r.infraErrors++
	case res.Failure != "":
		got = expectFailure
		r.failures++
	}
	leaked := false
	for _, st := range res.Steps {
		leaked = leaked || st.Summary.LeakRounds+st.Summary.LeaksAfterConvergence > 0
	}
	if leaked {
		r.leaks++
	}
	if got == r.expect {
		r.expected++
	}
	switch {
	case fired == 0:
		r.problem("%s: the fault was never injected", c.Name)
	case len(errs) > 0:
		r.problem("%s: injection or heal failed: %v", c.Name, errs)
	case noEffect != "":
		r.problem("%s: the injection had no effect: %s", c.Name, noEffect)
	}
	switch {
	case res.Passed && r.expect != expectPass && noEffect == "":
		r.falsePasses++
	case !res.Passed && r.expect == expectPass:
		r.falseFails++
		if r.falseFailWhy == "" {
			r.falseFailWhy = fmt.Sprintf("%s: %s", c.Name, res.Why())
		}
	}
	if s.window > 0 {
		r.windows = append(r.windows, s.window)
	}
	detail := res.Why()
	if len(detail) > 160 {
		detail = detail[:160] + "..."
	}
	t.Logf("%s | %s | target %s, enforced on %v | injections %d | reported: %s (leaks: %v) %s %s",
		r.fault, c.Name, tgt.cell, tgt.enforcers, fired, got, leaked, strings.Join(notes, "; "), detail)
}

// note summarises a row: how many cases were reported as expected, and the
// leak windows measured.
func (r *row) note() string {
	parts := []string{fmt.Sprintf("%d/%d reported as %s", r.expected, r.run, r.expect)}
	if len(r.windows) > 0 {
		lo, hi := r.windows[0], r.windows[0]
		for _, w := range r.windows {
			lo, hi = min(lo, w), max(hi, w)
		}
		parts = append(parts, fmt.Sprintf("%s %s-%s over %d cases", r.window, lo.Round(time.Millisecond), hi.Round(time.Millisecond), len(r.windows)))
	}
	if r.falseFailWhy != "" {
		why := r.falseFailWhy
		if len(why) > 200 {
			why = why[:200] + "..."
		}
		parts = append(parts, "false fail: "+why)
	}
	if len(r.problems) > 0 {
		parts = append(parts, fmt.Sprintf("%d INJECTION PROBLEMS", len(r.problems)))
	}
	return strings.Join(parts, "; ")
}

// renderTable prints the fault table, then the problems, if any.
func renderTable(rows []*row) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "fault\tcases run\tfalse passes (must be 0)\tfalse fails\tleaks reported\tinfrastructure errors reported\tfailures reported\tnote")
	for _, r := range rows {
		falseFails := "-"
		if r.expect == expectPass {
			falseFails = fmt.Sprint(r.falseFails)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%d\t%d\t%d\t%s\n", r.fault, r.run, r.falsePasses, falseFails, r.leaks, r.infraErrors, r.failures, r.note())
	}
	w.Flush()
	for _, r := range rows {
		for _, p := range r.problems {
			fmt.Fprintf(&b, "problem: %s\n", p)
		}
	}
	return b.String()
}
