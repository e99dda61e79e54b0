package cases

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// ParseManifests reads a multi-document YAML stream of Namespaces, Pods and
// NetworkPolicies (as ManifestYAML writes them, or as a user writes them)
// into a State: the topology from the namespaces and pods (node, address
// and phase from the pods' netpolcheck.io annotations, else spec.nodeName
// and no address), and the policies in stream order. Objects without a
// namespace go to "default", as kubectl would put them. Every error names
// the document.
func ParseManifests(name string, data []byte) (*State, error) {
	topo := &model.Topology{Namespaces: map[string]model.Namespace{}}
	var policies []*networkingv1.NetworkPolicy
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		var head metav1.TypeMeta
		if err := yaml.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		if head.Kind == "" && head.APIVersion == "" && isBlank(raw) {
			continue
		}
		fail := func(err error) (*State, error) {
			return nil, fmt.Errorf("%s: document %d (%s %s): %s", name, doc, head.APIVersion, head.Kind, decodeMessage(err))
		}
		switch {
		case head.APIVersion == "v1" && head.Kind == "Namespace":
			var ns corev1.Namespace
			if err := yaml.UnmarshalStrict(raw, &ns); err != nil {
				return fail(err)
			}
			if ns.Name == "" {
				return fail(errors.New("no metadata.name"))
			}
			if _, dup := topo.Namespaces[ns.Name]; dup {
				return fail(fmt.Errorf("namespace %s is defined twice", ns.Name))
			}
			topo.Namespaces[ns.Name] = model.Namespace{Labels: withoutNameLabel(ns.Labels)}
		case head.APIVersion == "v1" && head.Kind == "Pod":
			var pod corev1.Pod
			if err := yaml.UnmarshalStrict(raw, &pod); err != nil {
				return fail(err)
			}
			p, err := modelPod(&pod)
			if err != nil {
				return fail(err)
			}
			topo.Pods = append(topo.Pods, p)
		case head.APIVersion == "networking.k8s.io/v1" && head.Kind == "NetworkPolicy":
			np := &networkingv1.NetworkPolicy{}
			if err := yaml.UnmarshalStrict(raw, np); err != nil {
				return fail(err)
			}
			if np.Name == "" {
				return fail(errors.New("no metadata.name"))
			}
			if np.Namespace == "" {
				np.Namespace = "default"
			}
			policies = append(policies, np)
		default:
			return fail(errors.New("want a v1 Namespace, a v1 Pod or a networking.k8s.io/v1 NetworkPolicy"))
		}
	}
	if err := topo.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	state := NewState(topo)
	for _, np := range policies {
		if err := state.Apply(CreatePolicy{Policy: np}); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return state, nil
}

// modelPod is the model's view of a pod manifest.
func modelPod(pod *corev1.Pod) (model.Pod, error) {
	if pod.Name == "" {
		return model.Pod{}, errors.New("no metadata.name")
	}
	p := model.Pod{
		Namespace:   pod.Namespace,
		Name:        pod.Name,
		Labels:      cloneMap(pod.Labels),
		Node:        pod.Spec.NodeName,
		HostNetwork: pod.Spec.HostNetwork,
	}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if len(p.Labels) == 0 {
		p.Labels = nil
	}
	if node := pod.Annotations[AnnotationNode]; node != "" {
		p.Node = node
	}
	p.IP = pod.Annotations[AnnotationIP]
	if ips := pod.Annotations[AnnotationIPs]; ips != "" {
		p.IPs = strings.Split(ips, ",")
	}
	p.Phase = corev1.PodPhase(pod.Annotations[AnnotationPhase])
	for _, ctr := range pod.Spec.Containers {
		for _, cp := range ctr.Ports {
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			p.Ports = append(p.Ports, model.ContainerPort{Name: cp.Name, Port: cp.ContainerPort, Protocol: proto})
		}
	}
	return p, nil
}

// decodeMessage is a decoding error without the layers of prefixes the
// YAML-to-JSON decoder adds.
func decodeMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"error unmarshaling JSON: ", "while decoding JSON: ", "json: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

// isBlank says whether a YAML document holds nothing but comments and
// blank lines.
func isBlank(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}
