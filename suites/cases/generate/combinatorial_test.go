package generate

import (
	"reflect"
	"testing"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Every action of the family changes what the case expects, given a policy
// for which it matters: a step that changes nothing would test nothing.
func TestEveryActionChangesTheTable(t *testing.T) {
	base := combo{types: typesIngress, target: formMatchLabels, peer: peerPod, selector: formMatchLabels, port: portNumber, protocol: protocolTCP}
	for _, tc := range []struct {
		action string
		adjust func(*combo)
	}{
		{actionUpdate, nil},     // the port moves from 80 to 81
		{actionDelete, nil},     // everything is allowed again
		{actionRelabelPod, nil}, // x/a loses pod=a: no longer the target
		{actionAddPolicy, nil},  // x/b becomes isolated too
		{actionRelabelNamespace, func(c *combo) { c.peer = peerNamespace }},          // y becomes team=blue
		{actionRecreatePod, func(c *combo) { c.peer, c.selector = peerIPBlock, "" }}, // y/b comes back at another address
	} {
		c := base
		c.action = tc.action
		if tc.adjust != nil {
			tc.adjust(&c)
		}
		kase, _ := combinatorialCase(normalise(c))
		states, err := cases.Replay(kase, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.action, err)
		}
		table := func(s *cases.State) []model.Cell {
			tt, err := model.TruthTable(s.Topology, s.Policies, kase.Steps[0].Probes)
			if err != nil {
				t.Fatalf("%s: %v", tc.action, err)
			}
			return tt.Cells()
		}
		first, last := table(states[1]), table(states[len(states)-1])
		if reflect.DeepEqual(first, last) {
			t.Errorf("%s: the table after %d steps is the table after the first", tc.action, len(kase.Steps))
		}
	}
}
