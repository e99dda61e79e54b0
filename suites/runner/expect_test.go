package runner

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Every way a cluster's report can differ from the case's state is named;
// a report equal up to API defaulting is no difference.
func TestStateDiffNamesEachDifference(t *testing.T) {
	want := cases.NewState(smallTopology())
	want.Policies = []*networkingv1.NetworkPolicy{denyIngressToXA()}
	for _, tc := range []struct {
		name   string
		change func(topo *model.Topology, nps *[]*networkingv1.NetworkPolicy)
		diff   string // "" for none
	}{
		{"equal", func(*model.Topology, *[]*networkingv1.NetworkPolicy) {}, ""},
		{"API defaulting", func(_ *model.Topology, nps *[]*networkingv1.NetworkPolicy) {
			np := (*nps)[0].DeepCopy()
			np.Spec.PolicyTypes = nil // the API sets Ingress; the case wrote it
			(*nps)[0] = np
		}, ""},
		{"namespace missing", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { delete(topo.Namespaces, "y") }, "namespace y is missing"},
		{"namespace labels", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) {
			topo.Namespaces["x"] = model.Namespace{Labels: map[string]string{"ns": "other"}}
		}, "namespace x has labels"},
		{"extra namespace", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { topo.Namespaces["q"] = model.Namespace{} }, "namespace q exists"},
		{"pod missing", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { topo.Pods = topo.Pods[1:] }, "pod x/a is missing"},
		{"extra pod", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) {
			topo.Pods = append(topo.Pods, model.Pod{Namespace: "x", Name: "zz"})
		}, "pod x/zz exists"},
		{"pod labels", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { topo.Pods[0].Labels = nil }, "pod x/a has labels"},
		{"pod ports", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { topo.Pods[0].Ports = nil }, "pod x/a has ports"},
		{"pod phase", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { topo.Pods[0].Phase = corev1.PodSucceeded }, "pod x/a has phase"},
		{"pod node", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { topo.Pods[0].Node = "node-9" }, "pod x/a has node"},
		{"pod IP", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { topo.Pods[0].IP = "10.9.9.9" }, "pod x/a has IP"},
		{"pod hostNetwork", func(topo *model.Topology, _ *[]*networkingv1.NetworkPolicy) { topo.Pods[0].HostNetwork = true }, "pod x/a has hostNetwork"},
		{"policy missing", func(_ *model.Topology, nps *[]*networkingv1.NetworkPolicy) { *nps = nil }, "policy x/deny-a is missing"},
		{"policy changed", func(_ *model.Topology, nps *[]*networkingv1.NetworkPolicy) {
			np := (*nps)[0].DeepCopy()
			np.Spec.PodSelector.MatchLabels = map[string]string{"pod": "b"}
			(*nps)[0] = np
		}, "policy x/deny-a differs"},
		{"extra policy", func(_ *model.Topology, nps *[]*networkingv1.NetworkPolicy) {
			np := denyIngressToXA()
			np.Name = "stray"
			*nps = append(*nps, np)
		}, "policy x/stray exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reported := cases.CloneTopology(want.Topology)
			nps := []*networkingv1.NetworkPolicy{want.Policies[0].DeepCopy()}
			tc.change(reported, &nps)
			diffs := stateDiff(want, reported, nps)
			got := strings.Join(diffs, "; ")
			switch {
			case tc.diff == "" && len(diffs) > 0:
				t.Errorf("want no difference, got %q", got)
			case tc.diff != "" && !strings.Contains(got, tc.diff):
				t.Errorf("want a difference naming %q, got %q", tc.diff, got)
			}
		})
	}
}
