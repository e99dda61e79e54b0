package shrink

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// validate replays the case on the model's state the way cases.Unmarshal
// checks a file: the topology is valid, every action fits the state the
// actions before it leave (its policy's placeholders name pods that exist,
// the API server would accept the policy), and the topology stays valid
// after every step. A candidate that passes runs on a cluster and reads
// back from its YAML, so a shrunk case is always one replay can run.
func validate(c cases.Case) error {
	if len(c.Steps) == 0 {
		return errors.New("no steps")
	}
	if c.Topology != nil {
		if err := c.Topology.Validate(); err != nil {
			return fmt.Errorf("topology: %w", err)
		}
	}
	state := cases.StateFor(c)
	for i, s := range c.Steps {
		for j, a := range s.Actions {
			if np, _ := policyOf(a); np != nil {
				resolved, err := state.ResolvePolicy(np)
				if err == nil {
					err = model.Validate(resolved)
				}
				if err != nil {
					return fmt.Errorf("step %d action %d: %w", i+1, j+1, err)
				}
			}
			if err := state.Apply(a); err != nil {
				return fmt.Errorf("step %d action %d: %w", i+1, j+1, err)
			}
		}
		if err := state.Topology.Validate(); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return nil
}

// repair makes a case whose step or action was removed replayable again:
// an update of a policy that no longer exists becomes its creation (the
// step keeps the policy it meant to probe), and any other action that no
// longer fits the state (a delete of what was never created, a relabel of
// a pod that is gone) is dropped. validate still judges the result.
func repair(c cases.Case) cases.Case {
	state := cases.StateFor(c)
	for i := range c.Steps {
		var kept []cases.Action
		for _, a := range c.Steps[i].Actions {
			if err := state.Apply(a); err == nil {
				kept = append(kept, a)
				continue
			}
			if u, ok := a.(cases.UpdatePolicy); ok {
				created := cases.CreatePolicy{Policy: u.Policy}
				if err := state.Apply(created); err == nil {
					kept = append(kept, created)
				}
			}
		}
		c.Steps[i].Actions = kept
	}
	return c
}

// cloneCase is a deep copy of c: candidates edit it freely.
func cloneCase(c cases.Case) cases.Case {
	out := c
	out.Features = slices.Clone(c.Features)
	out.Clauses = slices.Clone(c.Clauses)
	out.Topology = cases.CloneTopology(c.Topology)
	out.Steps = make([]cases.Step, len(c.Steps))
	for i, s := range c.Steps {
		s.Probes = slices.Clone(s.Probes)
		actions := make([]cases.Action, len(s.Actions))
		for j, a := range s.Actions {
			actions[j] = cloneAction(a)
		}
		s.Actions = actions
		out.Steps[i] = s
	}
	return out
}

func cloneAction(a cases.Action) cases.Action {
	switch a := a.(type) {
	case cases.CreatePolicy:
		return cases.CreatePolicy{Policy: a.Policy.DeepCopy()}
	case cases.UpdatePolicy:
		return cases.UpdatePolicy{Policy: a.Policy.DeepCopy()}
	case cases.SetPodLabels:
		return cases.SetPodLabels{Pod: a.Pod, Labels: maps.Clone(a.Labels)}
	case cases.SetNamespaceLabels:
		return cases.SetNamespaceLabels{Namespace: a.Namespace, Labels: maps.Clone(a.Labels)}
	case cases.CreatePod:
		p := a.Pod
		p.Labels = maps.Clone(p.Labels)
		p.IPs = slices.Clone(p.IPs)
		p.Ports = slices.Clone(p.Ports)
		return cases.CreatePod{Pod: p}
	}
	return a // the others hold values only
}
