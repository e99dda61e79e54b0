package shrink

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Kind names one way of making a case smaller.
type Kind string

// The kinds, in the order Candidates lists them: coarse cuts first, so one
// accepted candidate removes as much as possible and the cheap fine cuts
// run on an already small case.
const (
	// DropStep removes a step; later actions it leaves dangling are repaired
	// (an update of a policy that no longer exists becomes its creation) or
	// dropped.
	DropStep Kind = "drop-step"
	// MergeSteps runs two consecutive steps as one: their actions in order,
	// then the union of their probes.
	MergeSteps Kind = "merge-steps"
	// DropAction removes one action, repairing later ones as DropStep does.
	DropAction Kind = "drop-action"
	// DropPod removes a pod from the topology.
	DropPod Kind = "drop-pod"
	// DropNamespace removes a namespace that holds no pod.
	DropNamespace Kind = "drop-namespace"
	// DropRule removes an ingress or egress rule of a policy.
	DropRule Kind = "drop-rule"
	// DropPeer removes a peer (from/to entry) of a rule.
	DropPeer Kind = "drop-peer"
	// DropPeerSelector removes the podSelector or the namespaceSelector of a
	// peer that has both.
	DropPeerSelector Kind = "drop-peer-selector"
	// DropPort removes a port entry of a rule.
	DropPort Kind = "drop-port"
	// DropSelectorTerm removes a matchLabels key or a matchExpressions
	// requirement of a policy's podSelector or of a peer's selectors.
	DropSelectorTerm Kind = "drop-selector-term"
	// DropExcept removes an ipBlock except entry.
	DropExcept Kind = "drop-except"
	// DropProbe removes a port and protocol a step probes (never the last:
	// a step without probes probes every port of the topology).
	DropProbe Kind = "drop-probe"
	// DropUnprobedPorts removes the container ports no step probes, from
	// every pod of the topology at once: cells are only planned on ports
	// the destination serves and probed, so it changes no cell.
	DropUnprobedPorts Kind = "drop-unprobed-ports"
)

// Kinds lists every kind in candidate order.
func Kinds() []Kind {
	return []Kind{DropStep, MergeSteps, DropAction, DropPod, DropNamespace, DropRule, DropPeer, DropPeerSelector,
		DropPort, DropSelectorTerm, DropExcept, DropProbe, DropUnprobedPorts}
}

// candidate is one smaller variant and what was cut, for progress lines.
type candidate struct {
	kind Kind
	what string
	c    cases.Case
}

// Candidates lists the case's variants with one part cut, coarse cuts
// first. Each is strictly smaller (Size) and valid: it replays on the
// model's state as cases.Unmarshal checks a file, so it runs on a cluster
// and reads back from YAML. Candidates changes nothing in c.
func Candidates(c cases.Case) []cases.Case {
	var out []cases.Case
	for _, cand := range candidates(c) {
		out = append(out, cand.c)
	}
	return out
}

func candidates(c cases.Case) []candidate {
	var out []candidate
	add := func(kind Kind, what string, v cases.Case) {
		if validate(v) == nil {
			out = append(out, candidate{kind: kind, what: what, c: v})
		}
	}
	stepCandidates(c, add)
	topologyCandidates(c, add)
	for i, s := range c.Steps {
		for j, a := range s.Actions {
			np, rebuild := policyOf(a)
			if np == nil {
				continue
			}
			for _, ct := range policyCuts(np) {
				v := cloneCase(c)
				v.Steps[i].Actions[j] = rebuild(ct.np)
				add(ct.kind, fmt.Sprintf("step %d action %d (%s): %s", i+1, j+1, describe(a), ct.what), v)
			}
		}
	}
	for i, s := range c.Steps {
		if len(s.Probes) < 2 {
			continue
		}
		for k, pp := range s.Probes {
			v := cloneCase(c)
			v.Steps[i].Probes = slices.Delete(v.Steps[i].Probes, k, k+1)
			add(DropProbe, fmt.Sprintf("step %d probe %s", i+1, pp), v)
		}
	}
	unprobedPortsCandidate(c, add)

	rank := map[Kind]int{}
	for i, k := range Kinds() {
		rank[k] = i
	}
	slices.SortStableFunc(out, func(a, b candidate) int { return cmp.Compare(rank[a.kind], rank[b.kind]) })
	return out
}

// stepCandidates drops each step and each action, and merges each pair of
// consecutive steps. A case keeps at least one step.
func stepCandidates(c cases.Case, add func(Kind, string, cases.Case)) {
	for i, s := range c.Steps {
		if len(c.Steps) < 2 {
			break
		}
		v := cloneCase(c)
		v.Steps = slices.Delete(v.Steps, i, i+1)
		add(DropStep, fmt.Sprintf("step %d %q", i+1, s.Name), repair(v))
	}
	for i := 0; i+1 < len(c.Steps); i++ {
		a, b := c.Steps[i], c.Steps[i+1]
		if a.Unenforced != b.Unenforced {
			continue // one judges policies, the other ignores them
		}
		v := cloneCase(c)
		v.Steps[i] = mergeSteps(v.Steps[i], v.Steps[i+1])
		v.Steps = slices.Delete(v.Steps, i+1, i+2)
		add(MergeSteps, fmt.Sprintf("steps %d and %d", i+1, i+2), v)
	}
	for i, s := range c.Steps {
		for j, a := range s.Actions {
			v := cloneCase(c)
			v.Steps[i].Actions = slices.Delete(v.Steps[i].Actions, j, j+1)
			add(DropAction, fmt.Sprintf("step %d action %d (%s)", i+1, j+1, describe(a)), repair(v))
		}
	}
}

// mergeSteps is a then b as one step: b's state is what gets probed, on
// the ports of both, with the longer deadline and hold.
func mergeSteps(a, b cases.Step) cases.Step {
	out := a
	switch {
	case a.Name == "":
		out.Name = b.Name
	case b.Name != "":
		out.Name = a.Name + "; then " + b.Name
	}
	out.Actions = append(slices.Clone(a.Actions), b.Actions...)
	out.Probes = slices.Clone(a.Probes)
	for _, pp := range b.Probes {
		if !slices.Contains(out.Probes, pp) {
			out.Probes = append(out.Probes, pp)
		}
	}
	out.Deadline = max(a.Deadline, b.Deadline)
	out.Hold = max(a.Hold, b.Hold)
	return out
}

// topologyCandidates drops each pod and each namespace without pods. A
// case on the default topology gets it written out, minus the part.
// Candidates whose actions or ipBlock placeholders name what was dropped
// fail validation and are left out.
func topologyCandidates(c cases.Case, add func(Kind, string, cases.Case)) {
	t := c.TopologyOrDefault()
	for i, p := range t.Pods {
		v := cloneCase(c)
		v.Topology = cases.CloneTopology(t)
		v.Topology.Pods = slices.Delete(v.Topology.Pods, i, i+1)
		add(DropPod, "pod "+p.Ref().String(), v)
	}
	for _, ns := range slices.Sorted(maps.Keys(t.Namespaces)) {
		if slices.ContainsFunc(t.Pods, func(p model.Pod) bool { return p.Namespace == ns }) {
			continue
		}
		v := cloneCase(c)
		v.Topology = cases.CloneTopology(t)
		delete(v.Topology.Namespaces, ns)
		add(DropNamespace, "namespace "+ns, v)
	}
}

// unprobedPortsCandidate drops every container port that no step probes.
// A step without probes probes every port the topology serves, so then
// nothing is unprobed.
func unprobedPortsCandidate(c cases.Case, add func(Kind, string, cases.Case)) {
	probed := map[model.PortProtocol]bool{}
	for _, s := range c.Steps {
		if len(s.Probes) == 0 {
			return
		}
		for _, pp := range s.Probes {
			probed[pp] = true
		}
	}
	t := cases.CloneTopology(c.TopologyOrDefault())
	dropped := 0
	for i := range t.Pods {
		p := &t.Pods[i]
		kept := slices.DeleteFunc(slices.Clone(p.Ports), func(cp model.ContainerPort) bool {
			proto := cmp.Or(cp.Protocol, corev1.ProtocolTCP)
			return !probed[model.PortProtocol{Port: cp.Port, Protocol: proto}]
		})
		dropped += len(p.Ports) - len(kept)
		p.Ports = kept
	}
	if dropped == 0 {
		return
	}
	v := cloneCase(c)
	v.Topology = t
	what := fmt.Sprintf("%d container ports no step probes", dropped)
	if dropped == 1 {
		what = "1 container port no step probes"
	}
	add(DropUnprobedPorts, what, v)
}

// describe names an action in progress lines.
func describe(a cases.Action) string {
	switch a := a.(type) {
	case cases.CreatePolicy:
		return "createPolicy " + model.PolicyKey(a.Policy)
	case cases.UpdatePolicy:
		return "updatePolicy " + model.PolicyKey(a.Policy)
	case cases.DeletePolicy:
		return "deletePolicy " + a.Namespace + "/" + a.Name
	case cases.SetPodLabels:
		return "setPodLabels " + a.Pod.String()
	case cases.SetNamespaceLabels:
		return "setNamespaceLabels " + a.Namespace
	case cases.CreatePod:
		return "createPod " + a.Pod.Ref().String()
	case cases.DeletePod:
		return "deletePod " + a.Pod.String()
	}
	return fmt.Sprintf("%T", a)
}
