package clusters

import (
	"context"

	"k8s.io/client-go/kubernetes"

	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Cluster is a running cluster the runner drives. Providers (netns, kind,
// existing) implement it; callers get one from Create and never see the
// provider's types.
//
// Policies and labels change through Client(), as a user would change them;
// pods come and go through CreatePod and DeletePod, because a provider has to
// give them a network and a probe agent.
type Cluster interface {
	// Name is the run prefix every object of this cluster carries.
	Name() string
	// Client is the cluster's API. NetworkPolicies, namespace labels and pod
	// labels are changed through it.
	Client() kubernetes.Interface
	// Prober runs probe batches from inside pods, on a channel that policies
	// cannot block.
	Prober() matrix.Prober
	// Deploy makes the cluster hold exactly the namespaces and pods of topo
	// (labels and container ports included): missing ones are created, extra
	// ones deleted. Pod IPs in topo are wishes a provider may ignore; node
	// names must be the cluster's. It returns once every pod serves its ports.
	Deploy(ctx context.Context, topo *model.Topology) error
	// CreatePod creates one pod (its namespace must exist) and waits until it
	// serves its ports. The cluster assigns the IP unless pod.IP is set and
	// usable.
	CreatePod(ctx context.Context, pod model.Pod) error
	// DeletePod deletes one pod and waits until it is gone.
	DeletePod(ctx context.Context, ref model.PodRef) error
	// Topology reads the deployed namespaces, pods (with their real IPs) and
	// nodes from the API.
	Topology(ctx context.Context) (*model.Topology, error)
	// InstallEnforcer starts the NetworkPolicy enforcer under test and waits
	// until it has synced; EnforcerNone leaves policies unenforced.
	InstallEnforcer(ctx context.Context, enforcer string) error
	// Destroy removes everything the cluster created. It is safe to call more
	// than once.
	Destroy(ctx context.Context) error
}

// Enforcer names accepted by InstallEnforcer.
const (
	// EnforcerReference is netpolcheck's own iptables enforcer.
	EnforcerReference = "reference"
	// EnforcerNone runs without any enforcer: every denial must fail.
	EnforcerNone = "none"
)
