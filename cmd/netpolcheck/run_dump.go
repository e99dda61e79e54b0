package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// A failed case is reproducible anywhere: the namespaces, pods and
// policies in force at its failing step, as YAML that kubectl applies.

// reproduce renders the state of the case's failing step, with the pod
// addresses the cluster gave (ipBlock policies built from the topology
// name them).
func reproduce(ctx context.Context, cluster clusters.Cluster, c cases.Case, res result.Case) (*result.Reproduction, error) {
	topo, err := cluster.Topology(ctx)
	if err != nil {
		return nil, fmt.Errorf("case %q: read the pod addresses for its manifests: %w", c.Name, err)
	}
	ips := map[model.PodRef]string{}
	for _, p := range topo.Pods {
		if p.IP != "" {
			ips[p.Ref()] = p.IP
		}
	}
	step := failingStep(c, res)
	rep, err := stepManifests(c, ips, step, "the node and address the run gave it")
	if err != nil {
		return nil, fmt.Errorf("case %q: render its manifests: %w", c.Name, err)
	}
	return rep, nil
}

// failingStep is the step (from 1) a failed case stopped at: the runner
// stops at the first step that fails, so it is the last one it reports,
// or 0 when the reset before the first step failed.
func failingStep(c cases.Case, res result.Case) int {
	if res.Error != nil && res.Error.Kind == result.ErrorReset {
		return 0
	}
	return min(len(res.Steps), len(c.Steps))
}

// stepManifests renders the state after step (from 1; 0 is before any
// step). addresses says what the pods' annotations record.
func stepManifests(c cases.Case, ips map[model.PodRef]string, step int, addresses string) (*result.Reproduction, error) {
	states, err := cases.Replay(c, ips)
	if err != nil {
		return nil, err
	}
	if step < 0 || step >= len(states) {
		return nil, fmt.Errorf("case %q has no step %d", c.Name, step)
	}
	rep := &result.Reproduction{Step: step, StepName: "before the first step", Probes: []string{}}
	probes := []model.PortProtocol(nil)
	if len(c.Steps) > 0 {
		probes = c.Steps[0].Probes
	}
	if step > 0 {
		s := c.Steps[step-1]
		rep.StepName = s.Name
		if rep.StepName == "" {
			rep.StepName = fmt.Sprintf("step %d", step)
		}
		probes = s.Probes
	}
	if len(probes) == 0 {
		probes = states[step].Topology.PortProtocols()
	}
	for _, pp := range probes {
		rep.Probes = append(rep.Probes, pp.String())
	}
	data, err := states[step].ManifestYAML()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	where := fmt.Sprintf("step %d of %d, %q", step, len(c.Steps), rep.StepName)
	if step == 0 {
		where = "before its first step"
	}
	fmt.Fprintf(&b, "# Case %q\n", c.Name)
	fmt.Fprintf(&b, "# %s: the namespaces, pods and NetworkPolicies in force.\n", where)
	fmt.Fprintf(&b, "# kubectl apply -f on a cluster without these namespaces rebuilds it. Pods run the\n")
	fmt.Fprintf(&b, "# probe agent (%s: netpolcheck images builds it); each pod's annotations\n", cases.ProbeImage)
	fmt.Fprintf(&b, "# record %s (ipBlock policies name the address).\n", addresses)
	fmt.Fprintf(&b, "# Probed: %s.\n", strings.Join(rep.Probes, ", "))
	b.Write(data)
	rep.Manifests = b.String()
	return rep, nil
}

// validateDump checks --dump-case and --dump-step and returns the case.
func (f runFlags) validateDump() ([]cases.Case, error) {
	if f.dumpCase == "" {
		return nil, fmt.Errorf("--dump-step %d goes with --dump-case NAME", f.dumpStep)
	}
	if f.list {
		return nil, errors.New("--dump-case and --list exclude each other")
	}
	if f.output == outputJSON {
		return nil, errors.New("--dump-case writes YAML manifests: drop -o json")
	}
	c, err := cases.ByName(f.dumpCase)
	if err != nil {
		return nil, fmt.Errorf("--dump-case %q: no case has this name (see --list)", f.dumpCase)
	}
	if f.dumpStep < 0 || f.dumpStep > len(c.Steps) {
		return nil, fmt.Errorf("--dump-step %d: case %q has steps 1 to %d", f.dumpStep, c.Name, len(c.Steps))
	}
	return []cases.Case{c}, nil
}

// dumpCase writes the manifests of the case after each step, or after the
// one step asked for, with the topology's own pod addresses.
func dumpCase(w io.Writer, c cases.Case, only int) error {
	first, last := 1, len(c.Steps)
	if only > 0 {
		first, last = only, only
	}
	var b strings.Builder
	for step := first; step <= last; step++ {
		rep, err := stepManifests(c, nil, step, "the node and address the case's topology wishes for")
		if err != nil {
			return badInput(fmt.Errorf("--dump-case %q: %w", c.Name, err))
		}
		if step > first {
			b.WriteString("---\n")
		}
		b.WriteString(rep.Manifests)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
