package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// policyWarnings lists what in the policies cannot apply to anything in the
// topology: selectors that match no pod or namespace, and named ports that
// no pod declares. Such policies are valid, but usually a typo: a peer that
// matches nothing silently allows less, a podSelector that selects nothing
// silently isolates no one.
func policyWarnings(topo *model.Topology, policies []*networkingv1.NetworkPolicy) []string {
	var out []string
	for _, p := range policies {
		name := p.Namespace + "/" + p.Name
		warn := func(format string, args ...any) {
			out = append(out, fmt.Sprintf("policy %s: ", name)+fmt.Sprintf(format, args...))
		}
		if sel, ok := selector(&p.Spec.PodSelector); ok && len(podsMatching(topo, []string{p.Namespace}, sel)) == 0 {
			warn("spec.podSelector %s selects no pod in namespace %s", formatSelector(&p.Spec.PodSelector), p.Namespace)
		}
		for i, rule := range p.Spec.Ingress {
			for j, peer := range rule.From {
				checkPeer(topo, p.Namespace, fmt.Sprintf("spec.ingress[%d].from[%d]", i, j), peer, warn)
			}
			checkNamedPorts(topo, fmt.Sprintf("spec.ingress[%d]", i), rule.Ports, warn)
		}
		for i, rule := range p.Spec.Egress {
			for j, peer := range rule.To {
				checkPeer(topo, p.Namespace, fmt.Sprintf("spec.egress[%d].to[%d]", i, j), peer, warn)
			}
			checkNamedPorts(topo, fmt.Sprintf("spec.egress[%d]", i), rule.Ports, warn)
		}
	}
	return out
}

func checkPeer(topo *model.Topology, ns, path string, peer networkingv1.NetworkPolicyPeer, warn func(string, ...any)) {
	if peer.IPBlock != nil {
		return
	}
	namespaces := []string{ns}
	where := "namespace " + ns
	if peer.NamespaceSelector != nil {
		sel, ok := selector(peer.NamespaceSelector)
		if !ok {
			return
		}
		namespaces = namespacesMatching(topo, sel)
		if len(namespaces) == 0 {
			warn("%s.namespaceSelector %s matches no namespace of the topology", path, formatSelector(peer.NamespaceSelector))
			return
		}
		where = fmt.Sprintf("the namespaces it selects (%s)", strings.Join(namespaces, ", "))
	}
	if peer.PodSelector == nil {
		return
	}
	if sel, ok := selector(peer.PodSelector); ok && len(podsMatching(topo, namespaces, sel)) == 0 {
		warn("%s.podSelector %s matches no pod in %s", path, formatSelector(peer.PodSelector), where)
	}
}

func checkNamedPorts(topo *model.Topology, path string, ports []networkingv1.NetworkPolicyPort, warn func(string, ...any)) {
	for k, port := range ports {
		if port.Port == nil || port.Port.Type != intstr.String {
			continue
		}
		proto := corev1.ProtocolTCP
		if port.Protocol != nil {
			proto = *port.Protocol
		}
		if !declared(topo, port.Port.StrVal, proto) {
			warn("%s.ports[%d]: no pod of the topology declares a port named %q for %s", path, k, port.Port.StrVal, proto)
		}
	}
}

func declared(topo *model.Topology, name string, proto corev1.Protocol) bool {
	for _, p := range topo.Pods {
		for _, cp := range p.Ports {
			cpProto := cp.Protocol
			if cpProto == "" {
				cpProto = corev1.ProtocolTCP
			}
			if cp.Name == name && cpProto == proto {
				return true
			}
		}
	}
	return false
}

// selector converts a label selector; an invalid one (already refused by
// the manifest check) yields ok=false.
func selector(s *metav1.LabelSelector) (labels.Selector, bool) {
	sel, err := metav1.LabelSelectorAsSelector(s)
	return sel, err == nil
}

func formatSelector(s *metav1.LabelSelector) string {
	if f := metav1.FormatLabelSelector(s); f != "<none>" {
		return "{" + f + "}"
	}
	return "{}"
}

func podsMatching(topo *model.Topology, namespaces []string, sel labels.Selector) []string {
	var out []string
	for _, p := range topo.Pods {
		for _, ns := range namespaces {
			if p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
				out = append(out, p.Ref().String())
			}
		}
	}
	return out
}

func namespacesMatching(topo *model.Topology, sel labels.Selector) []string {
	var out []string
	for name, ns := range topo.Namespaces {
		set := labels.Set{model.NamespaceNameLabel: name}
		for k, v := range ns.Labels {
			set[k] = v
		}
		if sel.Matches(set) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// writeWarnings prints each warning as one line on w.
func writeWarnings(w io.Writer, warnings []string) {
	for _, msg := range warnings {
		fmt.Fprintln(w, "netpolcheck: warning:", msg)
	}
}
