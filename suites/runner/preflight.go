package runner

import (
	"context"
	"fmt"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Preflight proves, before the first case, that the cluster can judge the
// enforcer under test, the same way on every provider:
//
//  1. Baseline: with no policies the whole default matrix must connect
//     (with the liveness proof). Otherwise the network is broken, or
//     something other than the enforcer under test filters traffic (a stray
//     rule, a plugin's own enforcement left on), and no case could be
//     trusted.
//  2. Canary: a default-deny ingress policy in one namespace must take
//     effect within the deadline, and the matrix must come back once it is
//     removed. The time it took is the enforcer's readiness, reported. When
//     nothing is meant to enforce (enforces false), the canary must instead
//     change nothing while it is watched: otherwise something else enforces
//     policies (e.g. kindnet's own policy engine) and a run against "none"
//     would pass cases it must fail.
//
// It returns an error that says which part failed and why; the result
// carries the steps for a full description.
func (r *Runner) Preflight(ctx context.Context, enforces bool) (PreflightResult, error) {
	pf := PreflightResult{}
	c := cases.Case{Name: "preflight"}
	c.Steps = []cases.Step{
		{Name: "canary: default-deny ingress in x", Actions: []cases.Action{cases.CreatePolicy{Policy: canaryPolicy()}}},
		{Name: "canary removed", Actions: []cases.Action{cases.DeletePolicy{Namespace: canaryNamespace, Name: canaryName}}},
	}
	if !enforces {
		// Nothing is meant to enforce, so the canary must change nothing:
		// if it takes effect, something else enforces (kindnet's own
		// policy engine left on, say) and every case would be judged
		// against the wrong enforcer. It is watched for a while, since
		// nothing converging is no news.
		for i := range c.Steps {
			c.Steps[i].Unenforced = true
			c.Steps[i].Hold = min(r.deadline, unenforcedCanaryHold)
		}
		c.Steps[0].Name = "canary: default-deny ingress in x, which nothing may enforce"
	}
	start := time.Now()
	res := r.Run(ctx, c)
	pf.Case = res
	pf.Duration = time.Since(start)
	if reset := len(res.Steps) > 0 && res.Steps[0].Name == result.ResetStep; reset || (res.Error != nil && res.Error.Kind == result.ErrorReset) {
		why := res.Error.Message
		if reset {
			why = firstProblem(res.Steps[0], why)
		}
		return pf, fmt.Errorf("preflight: with no policies the default matrix does not connect, so the network is broken or something other than the enforcer under test filters traffic: %s", why)
	}
	if !enforces {
		if res.Passed {
			return pf, nil
		}
		last := res.Steps[len(res.Steps)-1]
		return pf, fmt.Errorf("preflight: nothing is meant to enforce, yet a default-deny ingress policy in %s took effect: something other than the enforcer under test enforces NetworkPolicy: %s",
			canaryNamespace, firstProblem(last, ""))
	}
	if len(res.Steps) > 0 {
		pf.CanaryEnforcedIn = res.Steps[0].TimeToConverge
	}
	switch {
	case res.Passed:
		return pf, nil
	case len(res.Steps) == 1:
		return pf, fmt.Errorf("preflight: the enforcer under test did not enforce a default-deny ingress policy in %s within %s: %s",
			canaryNamespace, res.Steps[0].Deadline, firstProblem(res.Steps[0], ""))
	default:
		return pf, fmt.Errorf("preflight: once the canary policy was removed the matrix did not connect again: %s",
			firstProblem(res.Steps[len(res.Steps)-1], ""))
	}
}

// PreflightResult is what Preflight saw.
type PreflightResult struct {
	// Case is the preflight run as a case: the baseline is its reset, the
	// canary its steps.
	Case result.Case
	// CanaryEnforcedIn is the time from creating the canary policy to the
	// first round of its stable convergence (zero without a canary).
	CanaryEnforcedIn time.Duration
	Duration         time.Duration
}

// Record is the preflight as the results record it; err is what Preflight
// returned.
func (pf PreflightResult) Record(err error) result.Preflight {
	rec := result.Preflight{Passed: err == nil, Duration: pf.Duration, CanaryEnforcedIn: pf.CanaryEnforcedIn, Case: pf.Case}
	if err != nil {
		rec.Error = result.Errorf(result.ErrorCluster, "%v", err)
	}
	return rec
}

// unenforcedCanaryHold is how long the canary is watched when nothing may
// enforce it (capped by the deadline): enforcers act within a second.
const unenforcedCanaryHold = 3 * time.Second

const (
	canaryNamespace = "x"
	canaryName      = "netpolcheck-canary"
)

func canaryPolicy() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: canaryNamespace, Name: canaryName},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
}

// firstProblem says in one line what went wrong in a step: its error, its
// failure, or its first wrong cell.
func firstProblem(sr result.Step, fallback string) string {
	why := sr.Failure
	if sr.Error != nil {
		why = sr.Error.Message
	}
	if why == "" {
		why = fallback
	}
	for _, c := range sr.Cells {
		if !c.Match && c.Judged() && !c.Unproven {
			return fmt.Sprintf("%s; e.g. %s expected %s, observed %s", why, c.Key(), c.Expected, c.Observed)
		}
	}
	return why
}
