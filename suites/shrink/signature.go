package shrink

import (
	"context"
	"slices"
	"strings"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Symptom is how one wrong cell of a failed step is wrong.
type Symptom string

const (
	// Leak: a cell the model denies connected.
	Leak Symptom = "leak"
	// Blocked: a cell the model allows did not connect.
	Blocked Symptom = "blocked"
	// WrongPeer: the connection reached another pod than the one probed.
	WrongPeer Symptom = "wrong-peer"
	// Lost: an allowed cell stopped connecting after convergence.
	Lost Symptom = "lost"
)

// Signature is the set of symptoms of a failed case's failing step: what
// the bug looks like, whichever cells show it.
type Signature []Symptom

// SignatureOf reads the symptoms of the case's failing step, sorted; empty
// when the case did not fail on wrong cells.
func SignatureOf(res result.Case) Signature {
	step := res.FailedStep()
	if step == nil {
		return nil
	}
	seen := map[Symptom]bool{}
	for _, c := range step.Cells {
		switch {
		case c.LeaksAfterConvergence > 0:
			seen[Leak] = true
		case c.Judged() && !c.Match && c.Observed == agent.WrongPeer:
			seen[WrongPeer] = true
		case c.Judged() && !c.Match && c.Expected == model.Denied:
			seen[Leak] = true
		case c.Judged() && !c.Match && c.Expected == model.Allowed:
			seen[Blocked] = true
		}
		if c.LostAfterConvergence > 0 {
			seen[Lost] = true
		}
	}
	var out Signature
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// String lists the symptoms, or says "failure" when a case failed on no
// wrong cell.
func (s Signature) String() string {
	if len(s) == 0 {
		return "failure"
	}
	var parts []string
	for _, sym := range s {
		parts = append(parts, string(sym))
	}
	return strings.Join(parts, ", ")
}

// SameFailure says whether res fails the way a case with signature want
// did: a Failure, never an infrastructure Error (a candidate the cluster
// could not judge proves nothing), and, when want has symptoms, symptoms
// that are all among them. A candidate that leaks where the original only
// leaked may show fewer cells, but one that now also blocks has found
// another bug, and shrinking into it would hand over the wrong one.
func SameFailure(want Signature, res result.Case) bool {
	if res.Verdict() != result.Failed {
		return false
	}
	if len(want) == 0 {
		return true
	}
	got := SignatureOf(res)
	if len(got) == 0 {
		return false
	}
	for _, s := range got {
		if !slices.Contains(want, s) {
			return false
		}
	}
	return true
}

// Reproduces is the predicate for a case that failed on a cluster: run
// each candidate the same way (runner.Runner.Run, which resets the
// cluster first) and ask whether it fails as original did (SameFailure).
// An interrupted run is an error, so Shrink stops instead of taking the
// interruption for a pass.
func Reproduces(run func(context.Context, cases.Case) result.Case, original result.Case) Predicate {
	want := SignatureOf(original)
	return func(ctx context.Context, c cases.Case) (bool, error) {
		res := run(ctx, c)
		if err := ctx.Err(); err != nil {
			return false, err
		}
		return SameFailure(want, res), nil
	}
}
