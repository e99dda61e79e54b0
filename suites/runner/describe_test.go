package runner

import (
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// The grids give each outcome its own glyph, so a refusal (the packet
// reached a closed port) never reads as a denial.
func TestDescribeShowsEveryOutcomeApart(t *testing.T) {
	cells := []Cell{
		{From: "x/a", To: "x/a", Port: 80, Protocol: "TCP", Expected: model.Allowed, Observed: agent.Connected, Match: true},
		{From: "x/a", To: "x/b", Port: 80, Protocol: "TCP", Expected: model.Denied, Observed: agent.Refused, Detail: "connection refused",
			Unproven: true, Unverified: "x/b did not answer itself on 80/TCP (refused)"},
		{From: "x/b", To: "x/a", Port: 80, Protocol: "TCP", Expected: model.Denied, Observed: agent.Timeout, Match: true},
		{From: "x/b", To: "x/b", Port: 80, Protocol: "TCP", Expected: model.Undefined, Observed: agent.WrongPeer},
	}
	sr := StepResult{Name: "s", Pods: []string{"x/a", "x/b"}, Ports: []model.PortProtocol{{Port: 80, Protocol: "TCP"}}, Cells: cells, Summary: summarize(cells, 0)}
	text := Describe(CaseResult{Name: "c", Steps: []StepResult{sr}})
	for _, want := range []string{
		"        | expected    | observed    | comparison\n" +
			"80/TCP  | x/a x/b     | x/a x/b     | x/a x/b\n" +
			"x/a     |  .   X      |  .   R      |  .   U\n" +
			"x/b     |  X   ?      |  D   W      |  .   ?\n",
		"x/a -> x/b 80/TCP: expected denied, observed refused (unproven: x/b did not answer itself on 80/TCP (refused)): connection refused",
		"undefined cells (implementation-defined, not judged):\n  x/b -> x/b 80/TCP: observed wrong-peer",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("description lacks %q:\n%s", want, text)
		}
	}
}
