package cases

import "github.com/netpolcheck/netpolcheck/reference/model"

// extraCase starts a case upstream lacks. Its labels are all derived
// (features.go).
func extraCase(name string, ids ...model.ClauseID) Case {
	return Case{Name: name, Clauses: ids}
}

// with completes a case with its topology and steps and pairs it with its
// hand tables (want[i] for step i; nil when the case has none).
func with(c Case, topo *model.Topology, steps []Step, want ...[]string) scenario {
	c.Topology = topo
	c.Steps = steps
	return scenario{Case: c, want: want}
}
