package cases

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// TestStateApplyFollowsEachAction applies every kind of action to a small
// state and checks what changed, then checks that actions which do not fit
// the state are refused with an error naming the object.
func TestStateApplyFollowsEachAction(t *testing.T) {
	base := func() *State { return NewState(pods(probes(tcp80), "x/a", "y/a")) }
	deny := denyIngress("x", "deny", all())
	tests := []struct {
		name    string
		actions []Action
		check   func(t *testing.T, s *State)
		wantErr string // substring; empty means success
	}{
		{name: "create policy", actions: create(deny), check: func(t *testing.T, s *State) {
			if len(s.Policies) != 1 || s.Policies[0].Name != "deny" {
				t.Errorf("policies = %v", names(s.Policies))
			}
		}},
		{name: "create twice", actions: create(deny, deny), wantErr: "x/deny: already exists"},
		{name: "create in unknown namespace", actions: create(denyIngress("w", "deny", all())), wantErr: "no such namespace"},
		{name: "update replaces", actions: []Action{CreatePolicy{Policy: deny}, update(denyIngress("x", "deny", podSel("a")))}, check: func(t *testing.T, s *State) {
			if len(s.Policies) != 1 || s.Policies[0].Spec.PodSelector.MatchLabels["pod"] != "a" {
				t.Errorf("update did not replace the policy: %+v", s.Policies)
			}
		}},
		{name: "update missing", actions: one(update(deny)), wantErr: "update policy x/deny: no such policy"},
		{name: "delete", actions: []Action{CreatePolicy{Policy: deny}, deletePolicy("x", "deny")}, check: func(t *testing.T, s *State) {
			if len(s.Policies) != 0 {
				t.Errorf("policies = %v", names(s.Policies))
			}
		}},
		{name: "delete missing", actions: one(deletePolicy("x", "deny")), wantErr: "delete policy x/deny: no such policy"},
		{name: "pod CIDRs resolve to the pods' addresses", actions: create(
			newPolicy("x", "ip", all()).ingress(peers(ipPeer(wideAround("y", "a"), hostOf("y", "a")))).build(),
		), check: func(t *testing.T, s *State) {
			b := s.Policies[0].Spec.Ingress[0].From[0].IPBlock
			if b.CIDR != "0.0.0.0/4" || len(b.Except) != 1 || b.Except[0] != "10.244.2.13/32" {
				t.Errorf("ipBlock = %+v, want 0.0.0.0/4 except 10.244.2.13/32", b)
			}
		}},
		{name: "pod CIDR of a pod not in the topology", actions: create(
			newPolicy("x", "ip", all()).ingress(peers(ipPeer(hostOf("z", "c")))).build(),
		), wantErr: "create policy x/ip: spec.ingress[0].from[0].ipBlock.cidr: pod z/c is not in the topology"},
		{name: "malformed pod CIDR", actions: create(
			newPolicy("x", "ip", all()).ingress(peers(ipPeer("{{podCIDR y/a /32}}"))).build(),
		), wantErr: "want {{podCIDR NAMESPACE/POD /IPV4-LENGTH /IPV6-LENGTH}}"},
		{name: "pod labels replaced wholesale", actions: one(setPodLabels("x", "a", "role", "db")), check: func(t *testing.T, s *State) {
			if got := s.Topology.Pods[0].Labels; len(got) != 1 || got["role"] != "db" {
				t.Errorf("labels = %v", got)
			}
		}},
		{name: "pod labels of a missing pod", actions: one(setPodLabels("x", "q", "a", "b")), wantErr: "pod x/q: no such pod"},
		{name: "namespace labels", actions: one(setNamespaceLabels("y", "team", "blue")), check: func(t *testing.T, s *State) {
			if got := s.Topology.Namespaces["y"].Labels; len(got) != 1 || got["team"] != "blue" {
				t.Errorf("labels = %v", got)
			}
		}},
		{name: "namespace labels of a missing namespace", actions: one(setNamespaceLabels("q", "a", "b")), wantErr: "namespace q: no such namespace"},
		{name: "create pod gets a free IP", actions: one(createPod(newPod("x", "d", "pod", "d"))), check: func(t *testing.T, s *State) {
			ips := map[string]bool{}
			for _, p := range s.Topology.Pods {
				if p.IP == "" || ips[p.IP] {
					t.Errorf("pod %s has IP %q (empty or taken)", p.Ref(), p.IP)
				}
				ips[p.IP] = true
			}
			if len(s.Topology.Pods) != 3 {
				t.Errorf("pods = %d, want 3", len(s.Topology.Pods))
			}
		}},
		{name: "create existing pod", actions: one(createPod(newPod("x", "a"))), wantErr: "create pod x/a: already exists"},
		{name: "delete pod", actions: one(deletePod("y", "a")), check: func(t *testing.T, s *State) {
			if len(s.Topology.Pods) != 1 || s.Topology.Pods[0].Ref().String() != "x/a" {
				t.Errorf("pods = %v", s.Topology.Pods)
			}
		}},
		{name: "delete missing pod", actions: one(deletePod("y", "q")), wantErr: "delete pod y/q: no such pod"},
		{name: "nil action", actions: []Action{nil}, wantErr: "no action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			var err error
			for _, a := range tc.actions {
				if err = s.Apply(a); err != nil {
					break
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			tc.check(t, s)
		})
	}
}

// TestStateIsIndependentOfItsInputs: the runner keeps one State per case
// while the case data stays reusable, so neither may leak into the other.
func TestStateIsIndependentOfItsInputs(t *testing.T) {
	topo := pods(probes(tcp80), "x/a", "y/a")
	np := denyIngress("x", "deny", all())
	s := NewState(topo)
	if err := s.Apply(CreatePolicy{Policy: np}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(setPodLabels("x", "a", "pod", "changed")); err != nil {
		t.Fatal(err)
	}
	if topo.Pods[0].Labels["pod"] != "a" {
		t.Errorf("Apply changed the input topology: %v", topo.Pods[0].Labels)
	}
	np.Name = "renamed"
	if s.Policies[0].Name != "deny" {
		t.Errorf("State shares the policy object with the caller")
	}
	c := s.Clone()
	if err := c.Apply(setNamespaceLabels("x", "team", "red")); err != nil {
		t.Fatal(err)
	}
	c.Policies[0].Name = "clone"
	if s.Topology.Namespaces["x"].Labels["team"] == "red" || s.Policies[0].Name != "deny" {
		t.Errorf("Clone shares state with the original")
	}
	if err := s.SetPodIP(model.PodRef{Namespace: "y", Name: "a"}, "10.9.9.9"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPodIP(model.PodRef{Namespace: "y", Name: "a"}, "not-an-ip"); err == nil {
		t.Error("SetPodIP accepted a bad address")
	}
}

func names(ps []*networkingv1.NetworkPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}
