package provider

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Cluster is a running cluster the runner drives. Callers get one from
// clusters.Create and never see the provider's types.
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
	// Prober runs probe batches from inside pods, and from each node's own
	// network namespace (matrix.NodeSource), on a channel that policies
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
	// InstallEnforcer starts the NetworkPolicy enforcer under test and
	// returns once it runs. Whether it enforces is proven by the runner's
	// preflight, the same way for every provider. EnforcerNone leaves
	// policies unenforced.
	InstallEnforcer(ctx context.Context, enforcer string) error
	// Destroy removes everything the cluster created. It is safe to call more
	// than once.
	Destroy(ctx context.Context) error
}

// Enforcer names every provider accepts in InstallEnforcer.
const (
	// EnforcerReference is netpolcheck's own iptables enforcer.
	EnforcerReference = "reference"
	// EnforcerNone runs without any enforcer: every denial must fail.
	EnforcerNone = "none"
	// EnforcerManifests is a user's plugin, applied from
	// Options.EnforcerManifests.
	EnforcerManifests = "manifests"
)

// Options are what every provider is created with.
type Options struct {
	// Nodes is the number of nodes of a cluster the provider builds; zero
	// means the provider's default.
	Nodes int
	// DenyAction is how a reference enforcer the provider installs denies:
	// "reject" (probes fail fast) or "drop" (probes time out); empty means
	// reject.
	DenyAction string
	// Logger receives the provider's progress; never nil once Defaults ran.
	Logger *slog.Logger
	// ImagesDir holds probe.tar and enforcer.tar (`netpolcheck images`),
	// for providers that load images into their nodes.
	ImagesDir string
	// Name is the run name a provider that builds its cluster uses instead
	// of a fresh NewRunName; empty means a fresh one. It must start with
	// RunNamePrefix, since cleanup finds leftovers by it, and name no
	// cluster that exists. Only the kind provider honours it, for callers
	// such as e2e-framework that address a cluster by a name they chose.
	Name string
	// NodeImage is the kind node image to use instead of building one.
	NodeImage string
	// KindConfig is a kind cluster configuration file that replaces the
	// default one.
	KindConfig string
	// Kubeconfig and Context select an existing cluster.
	Kubeconfig, Context string
	// EnforcerManifests is the directory of a user's plugin manifests
	// (YAML, every *.yaml and *.yml file in it), applied when the enforcer
	// under test is EnforcerManifests.
	EnforcerManifests string
	// LoadImages are image tarballs (docker save or OCI archives) loaded
	// into every node of a cluster the provider builds: a user's plugin's
	// images, where no registry answers.
	LoadImages []string
	// CNI says who gives pods their network on a cluster the provider
	// builds: CNIBuiltin (empty too) or CNIManifests.
	CNI string
	// ProbeMode is how probes reach the pods: ProbeModeBatch (empty too) or
	// ProbeModePerCell, the baseline to measure against.
	ProbeMode string
}

// Values of Options.CNI.
const (
	// CNIBuiltin is the provider's own plain routed network, which enforces
	// nothing.
	CNIBuiltin = "builtin"
	// CNIManifests leaves pods without a network until the enforcer's
	// manifests install one: plugins that are also the CNI.
	CNIManifests = "manifests"
)

// Values of Options.ProbeMode.
const (
	// ProbeModeBatch sends each source's whole round as one batch over a
	// stream kept open per source pod.
	ProbeModeBatch = "batch"
	// ProbeModePerCell probes the way the upstream e2e suite does: one exec
	// of a single connect per cell, three at a time. It exists to measure
	// ProbeModeBatch against.
	ProbeModePerCell = "per-cell"
)

// Defaults fills what the caller left unset.
func (o Options) Defaults() Options {
	if o.Logger == nil {
		o.Logger = Discard()
	}
	return o
}

// Discard is a logger that writes nothing: the default everywhere.
func Discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Provider is one kind of cluster, as package clusters lists it.
type Provider struct {
	// Name is what users pick it by (--cluster, NETPOLCHECK_CLUSTER).
	Name string
	// Create builds (or attaches to) a cluster; the caller must Destroy it.
	Create func(ctx context.Context, opts Options) (Cluster, error)
	// Cleanup removes what earlier runs left behind after a crash; runs
	// still alive are kept unless all is set. opts says where to look (the
	// kubeconfig of an existing cluster). It returns a line per removed
	// object.
	Cleanup func(ctx context.Context, opts Options, all bool) ([]string, error)
}

// RunNamePrefix starts every run's name, whatever the provider: cleanup
// matches on it.
const RunNamePrefix = "npc-"

// NewRunName returns RunNamePrefix and four random characters: short enough
// for container and interface names, unique per run.
func NewRunName() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random run name: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return RunNamePrefix + string(b), nil
}

// PodFromAPI reads a pod object as the model sees it: labels, node, IPs,
// host networking, phase and declared container ports. Providers that
// rename nodes map Node afterwards.
func PodFromAPI(p *corev1.Pod) model.Pod {
	mp := model.Pod{
		Namespace:   p.Namespace,
		Name:        p.Name,
		Labels:      maps.Clone(p.Labels),
		Node:        p.Spec.NodeName,
		IP:          p.Status.PodIP,
		HostNetwork: p.Spec.HostNetwork,
		Phase:       p.Status.Phase,
	}
	for _, ip := range p.Status.PodIPs {
		if ip.IP != mp.IP {
			mp.IPs = append(mp.IPs, ip.IP)
		}
	}
	for _, ctr := range p.Spec.Containers {
		for _, cp := range ctr.Ports {
			mp.Ports = append(mp.Ports, model.ContainerPort{Name: cp.Name, Port: cp.ContainerPort, Protocol: cp.Protocol})
		}
	}
	return mp
}
