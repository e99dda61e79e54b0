package model

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// NamespaceNameLabel is the label the API server puts on every namespace; the
// model adds it too, so selectors on it behave as in a real cluster.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Topology is the world a verdict is computed in: namespaces, pods and nodes.
// Its YAML/JSON form is the topology file format of DESIGN.md.
type Topology struct {
	Namespaces map[string]Namespace `json:"namespaces"`
	Pods       []Pod                `json:"pods"`
	Nodes      []Node               `json:"nodes,omitempty"`
}

// Namespace holds a namespace's labels. NamespaceNameLabel is implied.
type Namespace struct {
	Labels map[string]string `json:"labels,omitempty"`
}

// Pod is one pod of the topology.
type Pod struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Node      string            `json:"node,omitempty"`
	IP        string            `json:"ip,omitempty"`
	// IPs lists further addresses (the other family on dual-stack pods).
	IPs         []string `json:"ips,omitempty"`
	HostNetwork bool     `json:"hostNetwork,omitempty"`
	// Phase is the pod phase; empty means Running.
	Phase corev1.PodPhase `json:"phase,omitempty"`
	Ports []ContainerPort `json:"ports,omitempty"`
}

// ContainerPort is a port a pod's containers declare; named ports resolve
// against these.
type ContainerPort struct {
	Name     string          `json:"name,omitempty"`
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// Node is a cluster node and its addresses.
type Node struct {
	Name string   `json:"name"`
	IPs  []string `json:"ips,omitempty"`
}

// PodRef names a pod as namespace/name.
type PodRef struct {
	Namespace string
	Name      string
}

func (r PodRef) String() string { return r.Namespace + "/" + r.Name }

// MarshalText writes namespace/name, the form every JSON and YAML output
// uses for a pod.
func (r PodRef) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads namespace/name.
func (r *PodRef) UnmarshalText(b []byte) error {
	ref, err := ParsePodRef(string(b))
	if err != nil {
		return err
	}
	*r = ref
	return nil
}

// Ref returns the pod's PodRef.
func (p Pod) Ref() PodRef { return PodRef{Namespace: p.Namespace, Name: p.Name} }

// PortProtocol is one port and protocol of a truth table.
type PortProtocol struct {
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
}

func (pp PortProtocol) String() string { return fmt.Sprintf("%d/%s", pp.Port, pp.Protocol) }
