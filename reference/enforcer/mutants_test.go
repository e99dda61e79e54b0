package enforcer

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

// TestEveryRenderMutantChangesTheRules renders, for each mutant that lives in
// Render, a snapshot that exercises its bug and requires the rules to differ
// from the correct enforcer's: a mutant that renders the same rules would be
// a no-op by accident, and its "survival" in the kill-rate test would say
// nothing about the case library.
func TestEveryRenderMutantChangesTheRules(t *testing.T) {
	sctp, udp := corev1.ProtocolSCTP, corev1.ProtocolUDP
	denyBoth := denyBothSnapshot
	ingressFrom := func(peers ...networkingv1.NetworkPolicyPeer) func() Snapshot {
		return func() Snapshot {
			return baseSnapshot(policy("x", "from", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: peers}},
			}))
		}
	}
	ingressPorts := func(ports ...networkingv1.NetworkPolicyPort) func() Snapshot {
		return func() Snapshot {
			return baseSnapshot(policy("x", "ports", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: ports}},
			}))
		}
	}
	endPort := func() networkingv1.NetworkPolicyPort {
		p, end := port(80), int32(81)
		p.EndPort = &end
		return p
	}
	notIn := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "pod", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"b"}},
	}}
	unsetTypes := func(egress bool) func() Snapshot {
		return func() Snapshot {
			spec := networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}
			if egress {
				spec.Egress = []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{port(80)}}}
			}
			return baseSnapshot(policy("x", "unset-types", spec))
		}
	}
	cases := []struct {
		mutant Mutant
		clause string
		snap   func() Snapshot
	}{
		{MutantIgnoreExcept, "NP-IPBLOCK", ingressFrom(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/16", Except: []string{"10.244.2.0/24"}}})},
		{MutantIPBlockAsHost, "NP-IPBLOCK", ingressFrom(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/16"}})},
		{MutantSCTPAsTCP, "NP-PORT", ingressPorts(port(80, sctp))},
		{MutantSCTPPortIgnored, "NP-PORT", ingressPorts(port(80, sctp))},
		{MutantProtocolOnlyAnyProtocol, "NP-PORT", ingressPorts(networkingv1.NetworkPolicyPort{Protocol: &udp})},
		{MutantEndPortOffByOne, "NP-PORT", ingressPorts(endPort())},
		{MutantNamedPortsDropped, "NP-NAMED", ingressPorts(namedPort("serve-81-tcp"))},
		{MutantNamedPortOnSource, "NP-NAMED", func() Snapshot {
			s := baseSnapshot(policy("x", "egress-named", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				PolicyTypes: types(networkingv1.PolicyTypeEgress),
				Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{namedPort("web")}}},
			}))
			s.Pods[0] = withPorts(s.Pods[0], corev1.ContainerPort{Name: "web", ContainerPort: 8080})
			s.Pods[2] = withPorts(s.Pods[2], corev1.ContainerPort{Name: "web", ContainerPort: 9090})
			return s
		}},
		{MutantNamedPortAnyProtocol, "NP-NAMED", ingressPorts(namedPort("serve-80-udp"))},
		{MutantIgnoreEgress, "NP-ISO", denyBoth},
		{MutantUnsetTypesIngressOnly, "NP-TYPES", unsetTypes(true)},
		{MutantUnsetTypesBoth, "NP-TYPES", unsetTypes(false)},
		{MutantPodAndNamespaceAsOr, "NP-PEER-AND", ingressFrom(networkingv1.NetworkPolicyPeer{PodSelector: selector("pod", "a"), NamespaceSelector: selector("team", "red")})},
		{MutantEmptyNamespaceSelectorOwnNamespace, "NP-PEER-NS", ingressFrom(nsPeer())},
		{MutantNamespaceSelectorByName, "NP-PEER-NS", ingressFrom(nsPeer("team", "red"))},
		{MutantNotInAsIn, "NP-SELECTOR", ingressFrom(networkingv1.NetworkPolicyPeer{PodSelector: notIn})},
		{MutantPodSelectorAllNamespaces, "NP-PEER-POD", ingressFrom(podPeer("pod", "b"))},
		{MutantEmptyPeersMatchNothing, "NP-RULE", ingressPorts(port(80))},
		{MutantOnePolicyPerPod, "NP-ADD", func() Snapshot {
			s := ingressFrom(podPeer("pod", "b"))()
			s.Policies = append(s.Policies, policy("x", "more", networkingv1.NetworkPolicySpec{
				PodSelector: *selector("pod", "a"),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{nsPeer("team", "red")}}},
			}))
			return s
		}},
		{MutantNoEstablished, "NP-BOTH", denyBoth},
		{MutantSameNamespaceAllowed, "NP-ISO", denyBoth},
		{MutantAllNodesExempt, "NP-NODE", denyBoth},
		{MutantUDPIngressIgnored, "NP-ISO", denyBoth},
		{MutantDenyOnlyTCP, "NP-ISO", denyBoth},
		{MutantEnforceNothing, "NP-ISO", denyBoth},
	}
	tested := map[Mutant]bool{}
	for _, tc := range cases {
		tested[tc.mutant] = true
		t.Run(string(tc.mutant), func(t *testing.T) {
			correct := renderForGolden(Render(tc.snap(), RenderOptions{}))
			mutated := renderForGolden(Render(tc.snap(), RenderOptions{mutant: tc.mutant}))
			if mutated == correct {
				t.Errorf("%s: the mutant renders the same rules as the correct enforcer:\n%s", tc.clause, correct)
			}
		})
	}
	for _, m := range Mutants() {
		if !m.inController() && !tested[m] {
			t.Errorf("mutant %s lives in Render but no snapshot here shows that it changes the rules", m)
		}
	}
}

// TestControllerMutantsDropTheirEventsOnly checks the controller mutants by
// their own means: their rules are right (Render is untouched), but the
// events that should trigger a sync are dropped, so rules go stale. The
// correct enforcer drops no event.
func TestControllerMutantsDropTheirEventsOnly(t *testing.T) {
	podA := pod("x", "a", localNode, "10.244.1.10")
	relabelled := podA.DeepCopy()
	relabelled.Labels = map[string]string{"pod": "other"}
	moved := podA.DeepCopy()
	moved.Status.PodIP = "10.244.1.99"
	ns := namespace("x", nil)
	nsRelabelled := namespace("x", map[string]string{"team": "green"})
	np := policy("x", "p", networkingv1.NetworkPolicySpec{})
	type event struct {
		name     string
		update   bool
		old, cur any
	}
	events := []event{
		{"pod relabel", true, podA, relabelled},
		{"pod IP change", true, podA, moved},
		{"namespace relabel", true, ns, nsRelabelled},
		{"policy update", true, np, np},
		{"policy delete", false, nil, np},
		{"policy delete tombstone", false, nil, cache.DeletedFinalStateUnknown{Key: "x/p", Obj: np}},
		{"pod delete", false, nil, podA},
	}
	drops := map[Mutant][]string{
		"":                           nil,
		MutantIgnorePodRelabel:       {"pod relabel"},
		MutantIgnoreNamespaceRelabel: {"namespace relabel"},
		MutantIgnorePolicyDelete:     {"policy delete", "policy delete tombstone"},
	}
	for _, m := range Mutants() {
		if _, listed := drops[m]; m.inController() && !listed {
			t.Errorf("controller mutant %s has no expectation here", m)
		}
	}
	for m, want := range drops {
		for _, ev := range events {
			var dropped bool
			if ev.update {
				dropped = m.dropsUpdate(ev.old, ev.cur)
			} else {
				dropped = m.dropsDelete(ev.cur)
			}
			if dropped != slices.Contains(want, ev.name) {
				t.Errorf("mutant %q: %s dropped = %t, want %t", m, ev.name, dropped, !dropped)
			}
		}
		if m == "" {
			continue
		}
		snap := denyBothSnapshot()
		if renderForGolden(Render(snap, RenderOptions{mutant: m})) != renderForGolden(Render(snap, RenderOptions{})) {
			t.Errorf("controller mutant %s changes Render; it should only make rules late", m)
		}
	}
}

func denyBothSnapshot() Snapshot {
	return baseSnapshot(policy("x", "deny-all", networkingv1.NetworkPolicySpec{
		PolicyTypes: types(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress),
	}))
}

// TestMutantsAreKnownAndDistinct: New refuses an unknown mutant, and the
// list has at least the 20 mutants the kill-rate test promises, each once.
func TestMutantsAreKnownAndDistinct(t *testing.T) {
	if _, err := New(fake.NewClientset(), WithNodeName("node-1"), WithMutant("no-such-bug")); err == nil {
		t.Error("New accepted an unknown mutant")
	}
	if _, err := New(fake.NewClientset(), WithNodeName("node-1"), WithMutant(MutantIgnoreExcept)); err != nil {
		t.Errorf("New refused a known mutant: %v", err)
	}
	all := Mutants()
	if len(all) < 20 {
		t.Errorf("%d mutants, want at least 20", len(all))
	}
	seen := map[Mutant]bool{}
	for _, m := range all {
		if m == "" || seen[m] {
			t.Errorf("mutant %q is empty or listed twice", m)
		}
		seen[m] = true
	}
}
