package result

import (
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// The grids give each outcome its own glyph, so a refusal (the packet
// reached a closed port) never reads as a denial.
func TestDescribeShowsEveryOutcomeApart(t *testing.T) {
	xa, xb := model.PodRef{Namespace: "x", Name: "a"}, model.PodRef{Namespace: "x", Name: "b"}
	tcp80 := model.PortProtocol{Port: 80, Protocol: "TCP"}
	cells := []Cell{
		{From: xa, To: xa, PortProtocol: tcp80, Expected: model.Allowed, Observed: agent.Connected, Match: true},
		{From: xa, To: xb, PortProtocol: tcp80, Expected: model.Denied, Observed: agent.Refused, Detail: "connection refused",
			Unproven: true, Unverified: "x/b did not answer itself on 80/TCP (refused)"},
		{From: xb, To: xa, PortProtocol: tcp80, Expected: model.Denied, Observed: agent.Timeout, Match: true},
		{From: xb, To: xb, PortProtocol: tcp80, Expected: model.Undefined, Observed: agent.WrongPeer},
	}
	sr := Step{Name: "s", Pods: []model.PodRef{xa, xb}, Ports: []model.PortProtocol{tcp80}, Cells: cells,
		Summary: Summary{Cells: 4, Judged: 3, Matched: 2, Unproven: 1, Undefined: 1}}
	text := Describe(Case{Name: "c", Steps: []Step{sr}})
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
