package cases

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// A state rendered as Kubernetes objects: what `kubectl apply -f` needs to
// rebuild a step of a case on any cluster. Pods run the probe agent and
// carry, as annotations, what a manifest cannot pin portably: the node
// netpolcheck put them on and the address they had (ipBlock policies name
// it). ParseManifests reads the same objects back into a State.

// ProbeImage is the image the rendered pods run: the probe agent
// (`netpolcheck images` builds it; cmd/probe/Dockerfile too).
const ProbeImage = "netpolcheck/probe"

// Annotations the rendered pods carry.
const (
	// AnnotationNode is the node netpolcheck ran the pod on. spec.nodeName
	// stays unset, so the pods schedule on clusters with other node names.
	AnnotationNode = "netpolcheck.io/node"
	// AnnotationIP is the pod's address in netpolcheck's run; ipBlock
	// policies built from the topology name it.
	AnnotationIP = "netpolcheck.io/ip"
	// AnnotationIPs lists further addresses, comma-separated.
	AnnotationIPs = "netpolcheck.io/ips"
	// AnnotationPhase is a phase other than Running the model assumed.
	AnnotationPhase = "netpolcheck.io/phase"
)

// Replay applies the case's steps to its starting state and returns the
// state before any step (index 0) and after each step (index i for step i,
// counting from 1). ips holds the addresses a cluster gave pods; pods it
// names get them as soon as they exist, the others keep the topology's
// wished address (or the one State assigns to a created pod). A nil map
// keeps every wished address.
func Replay(c Case, ips map[model.PodRef]string) ([]*State, error) {
	state := StateFor(c)
	adopt := func() error {
		for _, p := range state.Topology.Pods {
			if ip, ok := ips[p.Ref()]; ok && ip != p.IP {
				if err := state.SetPodIP(p.Ref(), ip); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := adopt(); err != nil {
		return nil, err
	}
	out := []*State{state.Clone()}
	for i, step := range c.Steps {
		for j, a := range step.Actions {
			if err := state.Apply(a); err != nil {
				return nil, fmt.Errorf("case %q step %d action %d: %w", c.Name, i+1, j+1, err)
			}
			if _, created := a.(CreatePod); created {
				if err := adopt(); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, state.Clone())
	}
	return out, nil
}

// Objects returns the state as Kubernetes objects: namespaces (by name),
// then pods and policies in the state's order.
func (s *State) Objects() ([]*corev1.Namespace, []*corev1.Pod, []*networkingv1.NetworkPolicy) {
	var namespaces []*corev1.Namespace
	names := make([]string, 0, len(s.Topology.Namespaces))
	for name := range s.Topology.Namespaces {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		namespaces = append(namespaces, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: withoutNameLabel(s.Topology.Namespaces[name].Labels)},
		})
	}
	var pods []*corev1.Pod
	for _, p := range s.Topology.Pods {
		pods = append(pods, podObject(p))
	}
	var policies []*networkingv1.NetworkPolicy
	for _, np := range s.Policies {
		np = np.DeepCopy()
		np.TypeMeta = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
		policies = append(policies, np)
	}
	return namespaces, pods, policies
}

// ManifestYAML renders the state as a multi-document YAML stream, every
// document with apiVersion and kind: namespaces, pods, then policies.
func (s *State) ManifestYAML() ([]byte, error) {
	namespaces, pods, policies := s.Objects()
	var objs []any
	for _, o := range namespaces {
		objs = append(objs, o)
	}
	for _, o := range pods {
		objs = append(objs, o)
	}
	for _, o := range policies {
		objs = append(objs, o)
	}
	var b bytes.Buffer
	for i, o := range objs {
		doc, err := objectYAML(o)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(doc)
	}
	return b.Bytes(), nil
}

// podObject is the pod the probe agent serves the model pod's ports in.
func podObject(p model.Pod) *corev1.Pod {
	var ports []corev1.ContainerPort
	var numbers, protocols []string
	lowPort, sctp := false, false
	for _, cp := range p.Ports {
		proto := cp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: cp.Port, Protocol: proto})
		if n := strconv.Itoa(int(cp.Port)); !slices.Contains(numbers, n) {
			numbers = append(numbers, n)
		}
		if l := strings.ToLower(string(proto)); !slices.Contains(protocols, l) {
			protocols = append(protocols, l)
		}
		lowPort = lowPort || cp.Port < 1024
		sctp = sctp || proto == corev1.ProtocolSCTP
	}
	// The agent serves every declared port number on every declared
	// protocol, as the netns cluster does; without ports, its defaults.
	args := []string{"--identity=" + p.Ref().String()}
	if len(numbers) > 0 {
		args = append(args, "--ports="+strings.Join(numbers, ","), "--protocols="+strings.Join(protocols, ","))
	}
	ctr := corev1.Container{
		Name:    "probe",
		Image:   ProbeImage,
		Command: []string{"/probe", "serve"},
		Args:    args,
		Ports:   ports,
	}
	if sctp {
		// Kernels without SCTP: the agent speaks SCTP over raw sockets.
		ctr.SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_RAW"}}}
	}
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: p.Namespace, Name: p.Name, Labels: cloneMap(p.Labels),
		},
		Spec: corev1.PodSpec{HostNetwork: p.HostNetwork, Containers: []corev1.Container{ctr}},
	}
	if lowPort && !p.HostNetwork {
		// The image runs as non-root; ports below 1024 need this safe sysctl.
		pod.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}}
	}
	annotations := map[string]string{}
	if p.Node != "" {
		annotations[AnnotationNode] = p.Node
	}
	if p.IP != "" {
		annotations[AnnotationIP] = p.IP
	}
	if len(p.IPs) > 0 {
		annotations[AnnotationIPs] = strings.Join(p.IPs, ",")
	}
	if p.Phase != "" && p.Phase != corev1.PodRunning {
		annotations[AnnotationPhase] = string(p.Phase)
	}
	if len(annotations) > 0 {
		pod.Annotations = annotations
	}
	return pod
}

// objectYAML renders one object without the fields the API server fills
// (creationTimestamp, status) and without empty container resources.
func objectYAML(obj any) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
		delete(m, "spec") // a Namespace's
	}
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	if spec, ok := m["spec"].(map[string]any); ok {
		if ctrs, ok := spec["containers"].([]any); ok {
			for _, c := range ctrs {
				if ctr, ok := c.(map[string]any); ok {
					if r, ok := ctr["resources"].(map[string]any); ok && len(r) == 0 {
						delete(ctr, "resources")
					}
				}
			}
		}
	}
	return yaml.Marshal(m)
}

func withoutNameLabel(labels map[string]string) map[string]string {
	out := cloneMap(labels)
	delete(out, model.NamespaceNameLabel)
	if len(out) == 0 {
		return nil
	}
	return out
}
