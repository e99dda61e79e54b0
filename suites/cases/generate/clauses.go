package generate

import (
	"slices"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Clauses are the spec clauses a case exercises, read from the model
// rather than listed by hand: the clauses its reasons cite for every cell
// the runner will judge (every ordered pair of pods, on each probed port
// the destination serves), after each step. Two clauses the model only
// applies, never cites, are added from the same evidence: NP-SELECTOR when
// a label selector decided a cell (a policy selected its pod, or a
// selector peer admitted it), NP-TYPES when what policyTypes infers or
// ignores matters (the "policy-types" label). They come in the order of
// model.Clauses.
func Clauses(c cases.Case) ([]model.ClauseID, error) {
	states, err := cases.Replay(c, nil)
	if err != nil {
		return nil, err
	}
	cited := map[model.ClauseID]bool{}
	for i, step := range c.Steps {
		s := states[i+1]
		table, err := model.TruthTable(s.Topology, s.Policies, step.Probes)
		if err != nil {
			return nil, err
		}
		for _, from := range s.Topology.Pods {
			for _, to := range s.Topology.Pods {
				for _, pp := range table.Ports() {
					if !to.Serves(pp) {
						continue
					}
					v, err := table.Explain(from.Ref(), to.Ref(), pp)
					if err != nil {
						return nil, err
					}
					for _, r := range v.Reasons {
						cited[r.Clause] = true
						switch {
						case r.Clause == model.ClauseIso && r.Policy != "",
							r.Clause == model.ClausePeerPod, r.Clause == model.ClausePeerNS, r.Clause == model.ClausePeerAnd:
							cited[model.ClauseSelector] = true
						}
					}
				}
			}
		}
	}
	if slices.Contains(cases.DeriveFeatures(c), "policy-types") {
		cited[model.ClauseTypes] = true
	}
	var out []model.ClauseID
	for _, id := range model.Clauses() {
		if cited[id] {
			out = append(out, id)
		}
	}
	return out, nil
}
