package cases

import (
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Case is one conformance case: a named list of steps over a topology.
type Case struct {
	// Name is unique and readable; it becomes the Ginkgo It text.
	Name string
	// Features are Ginkgo labels: "ingress", "egress", "named-port", "end-port",
	// "ipblock", "sctp", "udp", "tcp", "update", "upstream", ...
	Features []string
	// Clauses are the spec clause IDs (DESIGN.md) the case exercises.
	Clauses []model.ClauseID
	// Upstream is the text of the upstream e2e It this case mirrors, if any.
	Upstream string
	// Topology is nil for the default topology (model.DefaultTopology).
	Topology *model.Topology
	Steps    []Step
}

// Step is a set of actions followed by a probe of the whole matrix on the
// given ports and protocols.
type Step struct {
	Name    string
	Actions []Action
	// Probes lists the ports and protocols to probe after the actions.
	Probes []model.PortProtocol
	// Deadline overrides the runner's default convergence deadline.
	Deadline time.Duration
	// Unenforced judges the step as if no policy existed: nothing in the
	// cluster is meant to enforce (the preflight's canary when the enforcer
	// under test is none), and a policy that takes effect is a failure.
	Unenforced bool
	// Hold keeps the step probing at least this long after its actions,
	// even once it has converged, so that a change that should not come
	// (an enforcement nobody was meant to make) has the time to show.
	Hold time.Duration
}

// Action is exactly one change to the cluster; exactly one field is set.
type Action struct {
	// CreatePolicy and UpdatePolicy carry the object as written (no defaulting).
	CreatePolicy *networkingv1.NetworkPolicy
	UpdatePolicy *networkingv1.NetworkPolicy
	// PolicyFromTopology builds a policy that depends on the deployed topology
	// (pod IPs for ipBlock); it is created, or updated if it exists.
	PolicyFromTopology func(t *model.Topology) *networkingv1.NetworkPolicy
	DeletePolicy       *ObjectRef
	// SetPodLabels and SetNamespaceLabels replace the labels wholesale.
	SetPodLabels       *PodLabels
	SetNamespaceLabels *NamespaceLabels
	// CreatePod adds a pod (its IP is assigned by the cluster); DeletePod removes one.
	CreatePod *model.Pod
	DeletePod *model.PodRef
}

// ObjectRef names a namespaced object.
type ObjectRef struct {
	Namespace string
	Name      string
}

// PodLabels sets the labels of one pod.
type PodLabels struct {
	Pod    model.PodRef
	Labels map[string]string
}

// NamespaceLabels sets the labels of one namespace.
type NamespaceLabels struct {
	Namespace string
	Labels    map[string]string
}
