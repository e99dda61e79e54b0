package runner

import (
	"context"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// With nothing enforcing, every case of the library that expects a denial
// must fail, as the enforcer's failure (not an infrastructure error), and
// every case that expects none must pass: each case is seen to be able to
// fail, and the judging does not blame the infrastructure for a plugin that
// enforces nothing. Clause: NP-ISO (a denial needs an enforcer).
func TestEveryDenialCaseFailsUnenforced(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole library against no enforcer (about two minutes)")
	}
	c := newCluster(t)
	r := New(c, WithDeadline(time.Second), WithProbeTimeout(300*time.Millisecond))
	failed, passed := 0, 0
	for _, tc := range cases.All() {
		res := r.Run(context.Background(), tc)
		expectsDenial := false
		for _, sr := range res.Steps {
			for _, cell := range sr.Cells {
				expectsDenial = expectsDenial || cell.Expected == model.Denied
			}
		}
		switch {
		case res.Error != nil:
			t.Errorf("%s: infrastructure error without an enforcer: %s", tc.Name, res.Error)
		case expectsDenial && res.Passed:
			t.Errorf("%s: expects a denial but passed with nothing enforcing", tc.Name)
		case !expectsDenial && !res.Passed:
			t.Errorf("%s: expects no denial but failed:\n%s", tc.Name, result.Describe(res))
		case expectsDenial:
			failed++
		default:
			passed++
		}
	}
	t.Logf("without an enforcer: %d cases failed as they must, %d expecting no denial passed", failed, passed)
	if failed == 0 {
		t.Error("no case expects a denial: the test proves nothing")
	}
}
