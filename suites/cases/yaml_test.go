package cases

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// TestEveryCaseRoundTripsThroughYAML writes every case of the library as
// YAML and reads it back: the case's fields are equal, its actions of the
// same types, writing it again gives the same bytes, and replaying both
// gives the same topology and the same policies (as the API server sees
// them) after every step, on the topology's addresses and on IPv6 ones.
func TestEveryCaseRoundTripsThroughYAML(t *testing.T) {
	for _, c := range All() {
		data, err := Marshal(c)
		if err != nil {
			t.Errorf("case %q: marshal: %v", c.Name, err)
			continue
		}
		got, err := Unmarshal("case.yaml", data)
		if err != nil {
			t.Errorf("case %q: unmarshal: %v\n%s", c.Name, err, data)
			continue
		}
		for _, msg := range caseDiff(c, got) {
			t.Errorf("case %q after a round trip: %s", c.Name, msg)
		}
		again, err := Marshal(got)
		if err != nil || string(again) != string(data) {
			t.Errorf("case %q: written again it differs (%v):\n%s\nthen\n%s", c.Name, err, data, again)
		}
	}
}

// caseDiff lists what differs between a case and its copy read from YAML.
func caseDiff(want, got Case) []string {
	var msgs []string
	if want.Name != got.Name || want.Upstream != got.Upstream || !slices.Equal(want.Features, got.Features) || !slices.Equal(want.Clauses, got.Clauses) {
		msgs = append(msgs, fmt.Sprintf("header %q %q %v %v, want %q %q %v %v", got.Name, got.Upstream, got.Features, got.Clauses, want.Name, want.Upstream, want.Features, want.Clauses))
	}
	if !reflect.DeepEqual(want.Topology, got.Topology) {
		msgs = append(msgs, fmt.Sprintf("topology %+v, want %+v", got.Topology, want.Topology))
	}
	if len(want.Steps) != len(got.Steps) {
		return append(msgs, fmt.Sprintf("%d steps, want %d", len(got.Steps), len(want.Steps)))
	}
	for i, ws := range want.Steps {
		gs := got.Steps[i]
		if ws.Name != gs.Name || !slices.Equal(ws.Probes, gs.Probes) || ws.Deadline != gs.Deadline || ws.Hold != gs.Hold || ws.Unenforced != gs.Unenforced {
			msgs = append(msgs, fmt.Sprintf("step %d is %+v, want %+v", i+1, gs, ws))
		}
		if len(ws.Actions) != len(gs.Actions) {
			msgs = append(msgs, fmt.Sprintf("step %d has %d actions, want %d", i+1, len(gs.Actions), len(ws.Actions)))
			continue
		}
		for j := range ws.Actions {
			if w, g := fmt.Sprintf("%T", ws.Actions[j]), fmt.Sprintf("%T", gs.Actions[j]); w != g {
				msgs = append(msgs, fmt.Sprintf("step %d action %d is a %s, want a %s", i+1, j+1, g, w))
			}
		}
	}
	for _, v6 := range []bool{false, true} {
		w, g := want, got
		if v6 {
			w.Topology, g.Topology = ipv6(want.TopologyOrDefault()), ipv6(got.TopologyOrDefault())
		}
		ws, werr := Replay(w, nil)
		gs, gerr := Replay(g, nil)
		if werr != nil || gerr != nil {
			return append(msgs, fmt.Sprintf("replay (IPv6 %v): %v, want %v", v6, gerr, werr))
		}
		for i := range ws {
			if !reflect.DeepEqual(ws[i].Topology, gs[i].Topology) {
				msgs = append(msgs, fmt.Sprintf("IPv6 %v: after step %d the topology is %+v, want %+v", v6, i, gs[i].Topology, ws[i].Topology))
			}
			if w, g := policiesJSON(ws[i].Policies), policiesJSON(gs[i].Policies); w != g {
				msgs = append(msgs, fmt.Sprintf("IPv6 %v: after step %d the policies are\n%s\nwant\n%s", v6, i, g, w))
			}
		}
	}
	return msgs
}

// ipv6 is a copy of t where every pod has an IPv6 address.
func ipv6(t *model.Topology) *model.Topology {
	out := CloneTopology(t)
	for i := range out.Pods {
		out.Pods[i].IP = fmt.Sprintf("fd00:10:244::%x", 0x10+i)
	}
	return out
}

func policiesJSON(nps []*networkingv1.NetworkPolicy) string {
	data, err := json.Marshal(nps)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// TestUnmarshalNamesWhatIsWrong: bad input is refused with an error that
// names the file, the step and the action, and says what was expected.
func TestUnmarshalNamesWhatIsWrong(t *testing.T) {
	const head = "name: c\ntopology:\n  namespaces: {x: {}}\n  pods: [{namespace: x, name: a, ip: 10.0.0.1, ports: [{port: 80}]}]\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown action key", head + "steps:\n- probes: [80/TCP]\n- actions: [{createPolicyy: {}}]\n",
			`case.yaml: step 2 action 1: unknown action key "createPolicyy" (want one of createPolicy, updatePolicy, deletePolicy, setPodLabels, setNamespaceLabels, createPod, deletePod)`},
		{"two keys in one action", head + "steps:\n- actions: [{deletePod: x/a, createPod: {namespace: x, name: b}}]\n",
			`case.yaml: step 1 action 1: an action is an object with one key naming its type`},
		{"unknown field at the top", head + "stepz: []\n", `case.yaml: unknown field "stepz"`},
		{"unknown field in a step", head + "steps:\n- probe: [80/TCP]\n", `case.yaml: step 1: unknown field "probe"`},
		{"unknown field in a policy", head + "steps:\n- actions:\n  - createPolicy: {metadata: {namespace: x, name: p}, spc: {}}\n",
			`case.yaml: step 1 action 1: createPolicy: unknown field "spc"`},
		{"a policy of another kind", head + "steps:\n- actions:\n  - createPolicy: {apiVersion: v1, kind: Pod, metadata: {namespace: x, name: p}}\n",
			`step 1 action 1: createPolicy: apiVersion "v1" kind "Pod": want networking.k8s.io/v1 NetworkPolicy, or neither`},
		{"a policy without a namespace", head + "steps:\n- actions:\n  - createPolicy: {metadata: {name: p}}\n",
			`step 1 action 1: createPolicy: a policy needs metadata.namespace and metadata.name`},
		{"an invalid policy", head + "steps:\n- actions:\n  - createPolicy: {metadata: {namespace: x, name: p}, spec: {ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}}\n",
			`case.yaml: step 1 action 1: `},
		{"a placeholder for a missing pod", head + "steps:\n- actions:\n  - createPolicy: {metadata: {namespace: x, name: p}, spec: {ingress: [{from: [{ipBlock: {cidr: '{{podCIDR x/q /32 /128}}'}}]}]}}\n",
			`case.yaml: step 1 action 1: policy x/p: spec.ingress[0].from[0].ipBlock.cidr: pod x/q is not in the topology`},
		{"a malformed placeholder", head + "steps:\n- actions:\n  - createPolicy: {metadata: {namespace: x, name: p}, spec: {ingress: [{from: [{ipBlock: {cidr: '{{podCIDR x/a 32}}'}}]}]}}\n",
			`want {{podCIDR NAMESPACE/POD /IPV4-LENGTH /IPV6-LENGTH}}`},
		{"an action that does not fit", head + "steps:\n- actions: [{deletePolicy: x/p}]\n", `case.yaml: step 1 action 1: delete policy x/p: no such policy`},
		{"a delete without a namespace", head + "steps:\n- actions: [{deletePod: a}]\n", `step 1 action 1: deletePod: "a": want the pod as namespace/name`},
		{"a bad probe", head + "steps:\n- probes: [80/HTTP]\n", `case.yaml: step 1: probes: `},
		{"a bad deadline", head + "steps:\n- deadline: 10\n", `step 1: `},
		{"a bad duration", head + "steps:\n- hold: soon\n", `case.yaml: step 1: hold "soon": want a Go duration such as 10s or 1m30s`},
		{"an unknown clause", head + "clauses: [NP-FOO]\nsteps: [{}]\n", `case.yaml: clauses: "NP-FOO" is not a clause of DESIGN.md`},
		{"an unknown topology field", "name: c\ntopology: {podz: []}\nsteps: [{}]\n", `case.yaml: topology: unknown field "podz"`},
		{"an invalid topology", "name: c\ntopology: {namespaces: {x: {}}, pods: [{namespace: q, name: a}]}\nsteps: [{}]\n", `case.yaml: topology: `},
		{"no name", "steps: [{}]\n", `case.yaml: no name`},
		{"no steps", "name: c\n", `case.yaml: no steps`},
		{"two documents", head + "steps: [{}]\n---\n" + head + "steps: [{}]\n", `case.yaml: 2 YAML documents: a case file holds one`},
		{"a key given twice", head + "name: d\nsteps: [{}]\n", `case.yaml: `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal("case.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestUnmarshalReadsAHandWrittenCase: the format as a person writes it,
// with the pod placeholders, apiVersion and kind left out, a relabel, and
// labels derived.
func TestUnmarshalReadsAHandWrittenCase(t *testing.T) {
	c, err := Unmarshal("case.yaml", []byte(`
name: egress to a wide CIDR except one pod
features: [regression]
clauses: [NP-IPBLOCK]
steps:
  - name: x/a may send anywhere near y/a, except to y/a
    actions:
      - createPolicy:
          apiVersion: networking.k8s.io/v1
          kind: NetworkPolicy
          metadata: {namespace: x, name: except-ya}
          spec:
            podSelector: {matchLabels: {pod: a}}
            policyTypes: [Egress]
            egress:
              - to:
                  - ipBlock: {cidr: "{{podCIDR y/a /4 /8}}", except: ["{{ podCIDR y/a /32 /128 }}"]}
    probes: [80/TCP]
    deadline: 5s
  - name: y/a moves to namespace team=red
    actions:
      - setNamespaceLabels: {namespace: "y", labels: {team: red}}
      - deletePolicy: x/except-ya
    probes: [80/TCP, 81/UDP]
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"regression", "tcp", "udp", "egress", "ipblock", "except", "delete", "namespace-relabel"}; !slices.Equal(c.Features, want) {
		t.Errorf("features %v, want %v", c.Features, want)
	}
	states, err := Replay(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := states[1].Policies[0].Spec.Egress[0].To[0].IPBlock
	if b.CIDR != "0.0.0.0/4" || !slices.Equal(b.Except, []string{"10.244.2.13/32"}) {
		t.Errorf("ipBlock %+v, want 0.0.0.0/4 except y/a's 10.244.2.13/32", b)
	}
	if c.Steps[0].Deadline.String() != "5s" || len(states[2].Policies) != 0 || states[2].Topology.Namespaces["y"].Labels["team"] != "red" {
		t.Errorf("steps %+v, final state %+v", c.Steps, states[2])
	}
}
