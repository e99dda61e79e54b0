package shrink

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// handCase is small enough to list its candidates by hand: two namespaces
// with pods and one without, a deny policy and an allow policy with two
// peers (one of them a podSelector AND namespaceSelector, one an ipBlock
// naming y/b with two excepts), then an update, a relabel and a delete.
const handCase = `
name: hand-built
topology:
  namespaces: {x: {labels: {ns: x}}, "y": {labels: {ns: "y"}}, z: {}}
  pods:
    - {namespace: x, name: a, labels: {pod: a}, node: node-1, ip: 10.244.1.10, ports: [{port: 80, protocol: TCP}, {port: 81, protocol: TCP}, {port: 80, protocol: UDP}]}
    - {namespace: x, name: b, labels: {pod: b}, node: node-2, ip: 10.244.2.11, ports: [{port: 80, protocol: TCP}, {port: 81, protocol: TCP}]}
    - {namespace: "y", name: a, labels: {pod: a}, node: node-1, ip: 10.244.1.12, ports: [{port: 80, protocol: TCP}, {port: 81, protocol: TCP}]}
    - {namespace: "y", name: b, labels: {pod: b}, node: node-2, ip: 10.244.2.13, ports: [{port: 80, protocol: TCP}, {port: 81, protocol: TCP}]}
steps:
  - name: deny and allow
    actions:
      - createPolicy:
          metadata: {namespace: x, name: deny-all}
          spec: {podSelector: {}, policyTypes: [Ingress]}
      - createPolicy:
          metadata: {namespace: x, name: allow}
          spec:
            podSelector: {matchLabels: {pod: a}}
            policyTypes: [Ingress]
            ingress:
              - from:
                  - podSelector: {matchLabels: {pod: b}}
                    namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: ["y"]}]}
                  - ipBlock: {cidr: "{{podCIDR y/b /4 /8}}", except: [10.244.9.0/24, "{{podCIDR y/b /32 /128}}"]}
                ports: [{port: 80}, {port: 81}]
    probes: [80/TCP, 81/TCP]
  - name: update
    actions:
      - updatePolicy:
          metadata: {namespace: x, name: allow}
          spec:
            podSelector: {}
            ingress: [{from: [{podSelector: {}}]}]
      - setPodLabels: {pod: x/b, labels: {pod: c}}
    probes: [80/TCP]
  - name: delete
    actions:
      - deletePolicy: x/deny-all
    probes: [80/TCP]
`

func readCase(t *testing.T, text string) cases.Case {
	t.Helper()
	c, err := cases.Unmarshal("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustMarshal(t *testing.T, c cases.Case) string {
	t.Helper()
	data, err := cases.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestCandidatesOfAHandBuiltCase lists every cut of a case small enough to
// check by hand: every kind in order, each part once, and none that would
// leave an action dangling (x/b is relabelled and y/b named by an ipBlock,
// so neither pod is dropped; z is empty, x and y are not).
func TestCandidatesOfAHandBuiltCase(t *testing.T) {
	c := readCase(t, handCase)
	before := mustMarshal(t, c)
	var got []string
	for _, cand := range candidates(c) {
		got = append(got, string(cand.kind)+": "+cand.what)
	}
	allow := "step 1 action 2 (createPolicy x/allow): "
	want := []string{
		`drop-step: step 1 "deny and allow"`,
		`drop-step: step 2 "update"`,
		`drop-step: step 3 "delete"`,
		"merge-steps: steps 1 and 2",
		"merge-steps: steps 2 and 3",
		"drop-action: step 1 action 1 (createPolicy x/deny-all)",
		"drop-action: step 1 action 2 (createPolicy x/allow)",
		"drop-action: step 2 action 1 (updatePolicy x/allow)",
		"drop-action: step 2 action 2 (setPodLabels x/b)",
		"drop-action: step 3 action 1 (deletePolicy x/deny-all)",
		"drop-pod: pod x/a",
		"drop-pod: pod y/a",
		"drop-namespace: namespace z",
		"drop-rule: " + allow + "spec.ingress[0]",
		"drop-rule: step 2 action 1 (updatePolicy x/allow): spec.ingress[0]",
		"drop-peer: " + allow + "spec.ingress[0].from[0]",
		"drop-peer: " + allow + "spec.ingress[0].from[1]",
		"drop-peer: step 2 action 1 (updatePolicy x/allow): spec.ingress[0].from[0]",
		"drop-peer-selector: " + allow + "spec.ingress[0].from[0].podSelector",
		"drop-peer-selector: " + allow + "spec.ingress[0].from[0].namespaceSelector",
		"drop-port: " + allow + "spec.ingress[0].ports[0]",
		"drop-port: " + allow + "spec.ingress[0].ports[1]",
		"drop-selector-term: " + allow + "spec.podSelector.matchLabels.pod",
		"drop-selector-term: " + allow + "spec.ingress[0].from[0].podSelector.matchLabels.pod",
		"drop-selector-term: " + allow + "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0] (ns In)",
		"drop-except: " + allow + "spec.ingress[0].from[1].ipBlock.except[0] 10.244.9.0/24",
		"drop-except: " + allow + "spec.ingress[0].from[1].ipBlock.except[1] {{podCIDR y/b /32 /128}}",
		"drop-probe: step 1 probe 80/TCP",
		"drop-probe: step 1 probe 81/TCP",
		"drop-unprobed-ports: 1 container port no step probes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("candidates:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if after := mustMarshal(t, c); after != before {
		t.Errorf("Candidates changed the case:\n%s\nwas:\n%s", after, before)
	}
}

// TestDroppedStepsAreRepaired: a step that created a policy, once dropped,
// turns the later update of that policy into its creation and drops the
// later delete, so the candidate still replays.
func TestDroppedStepsAreRepaired(t *testing.T) {
	c := readCase(t, handCase)
	for _, cand := range candidates(c) {
		if cand.kind != DropStep || !strings.Contains(cand.what, "step 1") {
			continue
		}
		steps := cand.c.Steps
		if len(steps) != 2 || len(steps[0].Actions) != 2 || len(steps[1].Actions) != 0 {
			t.Fatalf("after dropping step 1: %+v", steps)
		}
		if _, ok := steps[0].Actions[0].(cases.CreatePolicy); !ok {
			t.Errorf("the update of x/allow is a %T, want its creation", steps[0].Actions[0])
		}
		return
	}
	t.Fatal("no candidate drops step 1")
}

// TestMergedStepsProbeBothStepsPorts: a merge runs both steps' actions in
// order and probes the union of their ports.
func TestMergedStepsProbeBothStepsPorts(t *testing.T) {
	a := cases.Step{Name: "a", Actions: []cases.Action{cases.DeletePolicy{Namespace: "x", Name: "p"}}, Probes: readCase(t, handCase).Steps[0].Probes}
	b := cases.Step{Name: "b", Actions: []cases.Action{cases.DeletePolicy{Namespace: "x", Name: "q"}}, Probes: a.Probes[:1], Deadline: 5}
	m := mergeSteps(a, b)
	if m.Name != "a; then b" || len(m.Actions) != 2 || !slices.Equal(m.Probes, a.Probes) || m.Deadline != 5 {
		t.Errorf("merged: %+v", m)
	}
}

// defaultCase runs on the default topology: nine pods, each serving six
// ports, of which the case probes one.
const defaultCase = `
name: on the default topology
steps:
  - actions:
      - createPolicy:
          metadata: {namespace: x, name: deny}
          spec: {podSelector: {}, policyTypes: [Ingress]}
    probes: [80/TCP]
`

// TestDefaultTopologyIsWrittenOutToDropAPod: a case on the default
// topology loses a pod, or its unprobed ports, by carrying the default
// topology minus them, which Size counts as no growth.
func TestDefaultTopologyIsWrittenOutToDropAPod(t *testing.T) {
	c := readCase(t, defaultCase)
	pods := len(c.TopologyOrDefault().Pods)
	n := 0
	for _, cand := range candidates(c) {
		switch cand.kind {
		case DropPod:
			n++
			if cand.c.Topology == nil || len(cand.c.Topology.Pods) != pods-1 {
				t.Errorf("%s: topology %+v", cand.what, cand.c.Topology)
			}
		case DropUnprobedPorts:
			if cand.what != "45 container ports no step probes" || cand.c.Topology == nil || len(cand.c.Topology.Pods) != pods {
				t.Errorf("%s: topology %+v", cand.what, cand.c.Topology)
			}
			for _, p := range cand.c.Topology.Pods {
				if len(p.Ports) != 1 || p.Ports[0].Port != 80 || p.Ports[0].Protocol != "TCP" {
					t.Errorf("%s: pod %s keeps ports %+v, want 80/TCP alone", cand.what, p.Ref(), p.Ports)
				}
			}
		}
	}
	if n != 9 {
		t.Errorf("%d pods dropped one at a time, want the 9 of the default topology", n)
	}
}

// TestEveryCandidateIsSmallerAndReadsBack holds, for every case of the
// library, that each candidate is strictly smaller (so a search ends), is
// a case cases.Unmarshal accepts once written (so replay runs what shrink
// writes), and that listing them leaves the case as it was.
func TestEveryCandidateIsSmallerAndReadsBack(t *testing.T) {
	all := append(cases.All(), readCase(t, handCase), readCase(t, defaultCase))
	if testing.Short() {
		all = all[len(all)-10:]
	}
	kinds := map[Kind]int{}
	for _, c := range all {
		before := mustMarshal(t, c)
		size := Size(c)
		for _, cand := range candidates(c) {
			kinds[cand.kind]++
			where := fmt.Sprintf("case %q, %s %s", c.Name, cand.kind, cand.what)
			if got := Size(cand.c); got >= size {
				t.Errorf("%s: size %d, not below the case's %d", where, got, size)
			}
			data, err := cases.Marshal(cand.c)
			if err == nil {
				_, err = cases.Unmarshal("candidate.yaml", data)
			}
			if err != nil {
				t.Errorf("%s: does not read back: %v", where, err)
			}
		}
		if after := mustMarshal(t, c); after != before {
			t.Errorf("case %q: Candidates changed it", c.Name)
		}
	}
	for _, k := range Kinds() {
		if kinds[k] == 0 && !testing.Short() {
			t.Errorf("no case of the library has a %s candidate", k)
		}
	}
	t.Logf("candidates by kind over %d cases: %v", len(all), kinds)
}
