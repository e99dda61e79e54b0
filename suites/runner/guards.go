package runner

// guard is one check that keeps the judging from passing what it must not.
// Each can be switched off, only from this package's tests, so that every
// guard has a test that is seen to fail without it (guards_test.go); a
// disabled guard behaves like the mistake it prevents.
type guard string

const (
	// guardProbeErrors: a probe that could not run fails the step as an
	// infrastructure error. Disabled: an error reads as a timeout.
	guardProbeErrors guard = "probe errors are infrastructure errors"
	// guardDenialProof: a cell that did not connect says something about the
	// enforcer only when, in the same round, the destination's server
	// answered its own pod and the path between the two pods was up.
	// Disabled: every non-connection is taken at face value.
	guardDenialProof guard = "a non-connection counts only with a liveness proof"
	// guardStableConvergence: a step passes only when it ends with its
	// stable and settle rounds all matching. Disabled: one matching round
	// passes.
	guardStableConvergence guard = "a step passes only after stable convergence"
	// guardLostAfterConvergence: an allowed cell that stops connecting after
	// stable convergence fails the step as flaky. Disabled: only a flip.
	guardLostAfterConvergence guard = "an allowed cell lost after convergence fails the step"
	// guardCaseState: the cluster must hold what the case's actions imply,
	// and the expectation comes from the case. Disabled: the expectation
	// comes from whatever the cluster reports.
	guardCaseState guard = "the cluster holds what the case implies"
	// guardJudgedCells: a step that judged no cell fails. Disabled: it
	// passes vacuously.
	guardJudgedCells guard = "a step judges at least one cell"
)

// guards lists every guard, for the test that switches each off.
var guards = []guard{
	guardProbeErrors, guardDenialProof, guardStableConvergence,
	guardLostAfterConvergence, guardCaseState, guardJudgedCells,
}

// on says whether g is in force (always, outside tests).
func (r *Runner) on(g guard) bool { return !r.disabled[g] }
