package enforcer

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Snapshot is everything a render needs: one consistent view of the cluster
// as seen from one node.
type Snapshot struct {
	// NodeName selects the local pods (spec.nodeName) whose chains are rendered.
	NodeName string
	// Node is the local Node object, if known; its InternalIPs are the node's
	// own addresses, always allowed to reach its pods.
	Node       *corev1.Node
	Pods       []*corev1.Pod
	Namespaces []*corev1.Namespace
	Policies   []*networkingv1.NetworkPolicy
}

// IPFamily is an IP family with its own iptables binaries and payload.
type IPFamily int

const (
	IPv4 IPFamily = 4
	IPv6 IPFamily = 6
)

func (f IPFamily) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// DenyAction is what the end of an isolated pod's chain does.
type DenyAction string

const (
	// DenyReject answers with ICMP administratively prohibited, so clients
	// fail fast. It is the default.
	DenyReject DenyAction = "reject"
	// DenyDrop silently drops, so clients time out.
	DenyDrop DenyAction = "drop"
)

// ParseDenyAction accepts "reject" and "drop".
func ParseDenyAction(s string) (DenyAction, error) {
	switch DenyAction(s) {
	case DenyReject, DenyDrop:
		return DenyAction(s), nil
	}
	return "", fmt.Errorf("deny action %q: want %q or %q", s, DenyReject, DenyDrop)
}

// DefaultChainPrefix starts the name of every chain the enforcer owns.
const DefaultChainPrefix = "NPC-"

// RenderOptions tune Render. The zero value means REJECT and the default prefix.
type RenderOptions struct {
	DenyAction  DenyAction
	ChainPrefix string
	// mutant renders a broken variant (WithMutant; kill-rate test only).
	mutant Mutant
}

func (o RenderOptions) withDefaults() RenderOptions {
	if o.DenyAction == "" {
		o.DenyAction = DenyReject
	}
	if o.ChainPrefix == "" {
		o.ChainPrefix = DefaultChainPrefix
	}
	return o
}
