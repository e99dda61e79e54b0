package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// The case, not the cluster, decides what must be there. The runner keeps a
// cases.State beside the cluster: every action is applied to both, and the
// only facts taken from the cluster are the ones a cluster decides (pod IPs
// and, where the case names none, nodes; the nodes' addresses). Before a
// step is judged the cluster's report must equal the state; otherwise a pod,
// a port, a label or a policy the cluster silently lost would shrink the
// expectation with it, and a step could pass on what was never tested.

// adoptClusterFacts copies into state what the cluster decided: the pods'
// addresses and nodes (where the case named none), only for pod if it is
// set, and the nodes. Pods the cluster does not report are left alone: the
// comparison names them.
func adoptClusterFacts(ctx context.Context, c clusters.Cluster, state *cases.State, pod *model.PodRef) error {
	topo, err := c.Topology(ctx)
	if err != nil {
		return err
	}
	reported := map[model.PodRef]model.Pod{}
	for _, p := range topo.Pods {
		reported[p.Ref()] = p
	}
	for i := range state.Topology.Pods {
		want := &state.Topology.Pods[i]
		have, ok := reported[want.Ref()]
		if !ok || (pod != nil && *pod != want.Ref()) {
			continue
		}
		want.IP, want.IPs = have.IP, slices.Clone(have.IPs)
		if want.Node == "" {
			want.Node = have.Node
		}
	}
	state.Topology.Nodes = cases.CloneTopology(topo).Nodes
	return nil
}

// stateDiff lists, one phrase each, how the cluster's report differs from
// the state the case implies. Empty means they agree.
func stateDiff(want *cases.State, topo *model.Topology, nps []*networkingv1.NetworkPolicy) []string {
	var diffs []string
	for _, name := range sortedKeys(want.Topology.Namespaces) {
		have, ok := topo.Namespaces[name]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("namespace %s is missing", name))
		case !sameLabels(withoutNameLabel(want.Topology.Namespaces[name].Labels), withoutNameLabel(have.Labels)):
			diffs = append(diffs, fmt.Sprintf("namespace %s has labels %v, the case %v", name,
				withoutNameLabel(have.Labels), withoutNameLabel(want.Topology.Namespaces[name].Labels)))
		}
	}
	for _, name := range sortedKeys(topo.Namespaces) {
		if _, ok := want.Topology.Namespaces[name]; !ok {
			diffs = append(diffs, fmt.Sprintf("namespace %s exists but the case has none", name))
		}
	}

	reported := map[model.PodRef]model.Pod{}
	for _, p := range topo.Pods {
		reported[p.Ref()] = p
	}
	for _, w := range want.Topology.Pods {
		h, ok := reported[w.Ref()]
		delete(reported, w.Ref())
		if !ok {
			diffs = append(diffs, fmt.Sprintf("pod %s is missing", w.Ref()))
			continue
		}
		diffs = append(diffs, podDiff(w, h)...)
	}
	for _, h := range topo.Pods {
		if _, extra := reported[h.Ref()]; extra {
			diffs = append(diffs, fmt.Sprintf("pod %s exists but the case has none", h.Ref()))
		}
	}

	stored := map[string]*networkingv1.NetworkPolicy{}
	for _, np := range nps {
		stored[np.Namespace+"/"+np.Name] = np
	}
	for _, w := range want.Policies {
		key := w.Namespace + "/" + w.Name
		h, ok := stored[key]
		delete(stored, key)
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("policy %s is missing", key))
		case !equality.Semantic.DeepEqual(apiDefaults(w.Spec), apiDefaults(h.Spec)):
			diffs = append(diffs, fmt.Sprintf("policy %s differs from the case's", key))
		}
	}
	for _, np := range nps {
		if _, extra := stored[np.Namespace+"/"+np.Name]; extra {
			diffs = append(diffs, fmt.Sprintf("policy %s/%s exists but the case has none", np.Namespace, np.Name))
		}
	}
	return diffs
}

func podDiff(w, h model.Pod) []string {
	var diffs []string
	differ := func(what string, have, want any) {
		diffs = append(diffs, fmt.Sprintf("pod %s has %s %v, the case %v", w.Ref(), what, have, want))
	}
	if !sameLabels(w.Labels, h.Labels) {
		differ("labels", h.Labels, w.Labels)
	}
	if wp, hp := portSet(w.Ports), portSet(h.Ports); !slices.Equal(wp, hp) {
		differ("ports", hp, wp)
	}
	if w.HostNetwork != h.HostNetwork {
		differ("hostNetwork", h.HostNetwork, w.HostNetwork)
	}
	if phaseOf(w) != phaseOf(h) {
		differ("phase", phaseOf(h), phaseOf(w))
	}
	if w.Node != "" && w.Node != h.Node {
		differ("node", h.Node, w.Node)
	}
	if w.IP != h.IP {
		differ("IP", h.IP, w.IP)
	}
	return diffs
}

// apiDefaults applies the API server's defaulting to a policy spec, so a
// policy stored by a real API server compares equal to the case's object:
// a port's protocol defaults to TCP, and unset policyTypes to Ingress plus
// Egress when there are egress rules.
func apiDefaults(spec networkingv1.NetworkPolicySpec) networkingv1.NetworkPolicySpec {
	out := *spec.DeepCopy()
	if len(out.PolicyTypes) == 0 {
		out.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(out.Egress) > 0 {
			out.PolicyTypes = append(out.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	tcp := corev1.ProtocolTCP
	defaultPorts := func(ports []networkingv1.NetworkPolicyPort) {
		for i := range ports {
			if ports[i].Protocol == nil {
				ports[i].Protocol = &tcp
			}
		}
	}
	for i := range out.Ingress {
		defaultPorts(out.Ingress[i].Ports)
	}
	for i := range out.Egress {
		defaultPorts(out.Egress[i].Ports)
	}
	return out
}

func portSet(ports []model.ContainerPort) []string {
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, fmt.Sprintf("%s=%d/%s", p.Name, p.Port, proto))
	}
	slices.Sort(out)
	return out
}

func phaseOf(p model.Pod) corev1.PodPhase {
	if p.Phase == "" {
		return corev1.PodRunning
	}
	return p.Phase
}

func sameLabels(a, b map[string]string) bool {
	return len(a) == len(b) && maps.Equal(a, b)
}

func withoutNameLabel(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	delete(out, model.NamespaceNameLabel)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// describeDiff joins the first differences into one line.
func describeDiff(diffs []string) string {
	const shown = 5
	if len(diffs) > shown {
		return strings.Join(diffs[:shown], "; ") + fmt.Sprintf("; and %d more", len(diffs)-shown)
	}
	return strings.Join(diffs, "; ")
}
