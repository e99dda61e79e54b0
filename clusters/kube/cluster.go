package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// RunAnnotation marks every namespace a run creates, with the run's name as
// its value: Topology reads only these, Destroy deletes them. An annotation,
// not a label: a namespace's labels are the case's alone (policies select
// on them, and the runner replaces them wholesale).
const RunAnnotation = "netpolcheck.io/run"

// OwnerAnnotation says which process made a run's namespace, as
// "HOST/PID": cleanup deletes the namespaces of runs whose process is gone
// from this host, and leaves live runs and other machines' alone.
const OwnerAnnotation = "netpolcheck.io/owner"

// SystemNamespace holds the run's node agents.
const SystemNamespace = "netpolcheck-system"

// Config is what New needs.
type Config struct {
	// Name is the run's name; it labels everything the run creates.
	Name string
	// REST reaches the API server from this machine.
	REST *rest.Config
	// ProbeImage and EnforcerImage are the images the nodes already hold
	// (kind loads them) or can pull.
	ProbeImage    string
	EnforcerImage string
	// APIServer, when set, is the host:port the enforcer's pods use to reach
	// the API server directly (kind: the control-plane node), instead of the
	// kubernetes Service, which depends on kube-proxy having synced.
	APIServer string
	// DenyAction is the reference enforcer's: reject (default) or drop.
	DenyAction string
	// EnforcerManifests is the directory applied for the enforcer
	// "manifests" (a user's plugin).
	EnforcerManifests string
	// ProbeMode is provider.ProbeModeBatch (empty too) or
	// provider.ProbeModePerCell.
	ProbeMode string
	// RawSCTP: the nodes' kernels lack SCTP, so probes speak it over raw
	// sockets and need NET_RAW.
	RawSCTP bool
	Logger  *slog.Logger
}

// Cluster is a run on a Kubernetes API server.
type Cluster struct {
	cfg    Config
	client kubernetes.Interface
	log    *slog.Logger
	// nodes maps topology node names (node-1, ...) to the cluster's, and
	// back.
	nodes, nodeNames map[string]string
	prober           *execProber
	perCell          *perCellProber

	// applied lists the objects of the enforcer's manifests this run
	// created, in apply order: Destroy deletes them.
	appliedMu sync.Mutex
	applied   []appliedObject
}

var _ provider.Cluster = (*Cluster)(nil)

// New attaches to the API server, maps the topology's nodes onto the
// worker nodes and starts a node agent on each.
func New(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Logger == nil {
		cfg.Logger = provider.Discard()
	}
	// client-go reports a broken exec stream (a probe pod replaced between
	// cases) through klog on stderr; the prober handles it (it reopens the
	// stream), and the harness logs through its own logger.
	klog.SetLogger(logr.Discard())
	client, err := kubernetes.NewForConfig(cfg.REST)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Name, err)
	}
	c := &Cluster{cfg: cfg, client: client, log: cfg.Logger, nodes: map[string]string{}, nodeNames: map[string]string{}}
	c.prober = newExecProber(cfg.REST, client, c)
	c.perCell = newPerCellProber(c.prober)
	switch cfg.ProbeMode {
	case "", provider.ProbeModeBatch, provider.ProbeModePerCell:
	default:
		return nil, fmt.Errorf("cluster %s: probe mode %q: want %s or %s", cfg.Name, cfg.ProbeMode, provider.ProbeModeBatch, provider.ProbeModePerCell)
	}
	if err := c.mapNodes(ctx); err != nil {
		return nil, err
	}
	if err := c.ensureNamespace(ctx, SystemNamespace, nil); err != nil {
		return nil, err
	}
	if err := c.startNodeAgents(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// mapNodes names the schedulable workers node-1, node-2, ... in name order.
// Control-plane nodes are left out: pods there would depend on the
// control plane's own networking quirks.
func (c *Cluster) mapNodes(ctx context.Context) error {
	list, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	var workers []string
	for _, n := range list.Items {
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp {
			continue
		}
		workers = append(workers, n.Name)
	}
	if len(workers) == 0 {
		return errors.New("the cluster has no worker node to run probe pods on")
	}
	sort.Strings(workers)
	for i, w := range workers {
		name := fmt.Sprintf("node-%d", i+1)
		c.nodes[name] = w
		c.nodeNames[w] = name
	}
	return nil
}

// Name is the run's name.
func (c *Cluster) Name() string { return c.cfg.Name }

// Client is the API server.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Prober runs batches through exec into the source's pod.
func (c *Cluster) Prober() matrix.Prober {
	if c.cfg.ProbeMode == provider.ProbeModePerCell {
		return c.perCell
	}
	return c.prober
}

// PerCellProber probes one exec per cell, whatever the probe mode: the
// baseline make bench-probe times against Prober on the same cluster.
func (c *Cluster) PerCellProber() matrix.Prober { return c.perCell }

// Topology reads the run's namespaces and pods back from the API, with node
// names as the topology knows them.
func (c *Cluster) Topology(ctx context.Context) (*model.Topology, error) {
	nsList, err := c.runNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	topo := &model.Topology{Namespaces: map[string]model.Namespace{}}
	for _, ns := range nsList {
		if ns.Name == SystemNamespace {
			continue // the harness's own, not the topology's
		}
		labels := maps.Clone(ns.Labels)
		delete(labels, model.NamespaceNameLabel)
		topo.Namespaces[ns.Name] = model.Namespace{Labels: labels}
		pods, err := c.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list pods of %s: %w", ns.Name, err)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.DeletionTimestamp != nil {
				continue
			}
			topo.Pods = append(topo.Pods, c.modelPod(p))
		}
	}
	sort.Slice(topo.Pods, func(i, j int) bool { return topo.Pods[i].Ref().String() < topo.Pods[j].Ref().String() })
	nodes, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range nodes.Items {
		name, ok := c.nodeNames[n.Name]
		if !ok {
			continue
		}
		node := model.Node{Name: name}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				node.IPs = append(node.IPs, a.Address)
			}
		}
		topo.Nodes = append(topo.Nodes, node)
	}
	sort.Slice(topo.Nodes, func(i, j int) bool { return topo.Nodes[i].Name < topo.Nodes[j].Name })
	return topo, nil
}

func (c *Cluster) modelPod(p *corev1.Pod) model.Pod {
	mp := provider.PodFromAPI(p)
	mp.Node = c.nodeNames[p.Spec.NodeName]
	return mp
}

// runNamespaces lists the namespaces this run owns.
func (c *Cluster) runNamespaces(ctx context.Context) ([]corev1.Namespace, error) {
	list, err := c.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var out []corev1.Namespace
	for _, ns := range list.Items {
		if ns.Annotations[RunAnnotation] == c.cfg.Name && ns.DeletionTimestamp == nil {
			out = append(out, ns)
		}
	}
	return out, nil
}

// ensureNamespace creates the namespace marked as the run's, or sets its
// labels (keeping the name label).
func (c *Cluster) ensureNamespace(ctx context.Context, name string, labels map[string]string) error {
	want := maps.Clone(labels)
	if want == nil {
		want = map[string]string{}
	}
	api := c.client.CoreV1().Namespaces()
	ns, err := api.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: name, Labels: want, Annotations: map[string]string{RunAnnotation: c.cfg.Name, OwnerAnnotation: thisProcess()},
		}}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	if owner := ns.Annotations[RunAnnotation]; owner != c.cfg.Name {
		return fmt.Errorf("namespace %s exists and does not belong to run %s (annotation %s=%q): pick another cluster or delete it", name, c.cfg.Name, RunAnnotation, owner)
	}
	want[model.NamespaceNameLabel] = name
	if maps.Equal(ns.Labels, want) {
		return nil
	}
	ns.Labels = want
	if _, err := api.Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("label namespace %s: %w", name, err)
	}
	return nil
}

// Destroy deletes every namespace of the run and waits until they are gone,
// then the objects of a user's plugin that the run created (objects that
// were there before stay; KeepEnforcer keeps them all). The reference
// enforcer stays: it goes with the cluster (kind) or serves the next run
// (existing).
func (c *Cluster) Destroy(ctx context.Context) error {
	c.prober.closeSessions()
	var errs []error
	list, err := c.runNamespaces(ctx)
	if err != nil {
		return fmt.Errorf("destroy run %s: %w", c.cfg.Name, err)
	}
	var names []string
	for _, ns := range list {
		names = append(names, ns.Name)
		if err := c.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, name := range names {
		for {
			_, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("namespace %s still terminating", name))
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	// The plugin goes after the run's pods: their teardown may need it.
	errs = append(errs, c.deleteManifests(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy run %s: %w", c.cfg.Name, err)
	}
	return nil
}

// realNode maps a topology node name to the cluster's.
func (c *Cluster) realNode(name string) (string, error) {
	if name == "" {
		nodes := slices.Sorted(maps.Keys(c.nodes))
		return c.nodes[nodes[0]], nil
	}
	real, ok := c.nodes[name]
	if !ok {
		return "", fmt.Errorf("no node %q: the cluster has %d workers (%s)", name, len(c.nodes), strings.Join(slices.Sorted(maps.Keys(c.nodes)), ", "))
	}
	return real, nil
}

// thisProcess names this process as OwnerAnnotation does.
func thisProcess() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// ownerGone says whether the owner annotation names a process of this host
// that no longer runs. Other hosts' processes cannot be checked: they count
// as alive.
func ownerGone(owner string) bool {
	host, pid, ok := strings.Cut(owner, "/")
	this, _ := os.Hostname()
	n, err := strconv.Atoi(pid)
	if !ok || host != this || err != nil || n <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(n, 0), syscall.ESRCH)
}

// CleanupRuns deletes the namespaces of runs whose process is gone (see
// ownerGone), or of every run with all, and returns a line per namespace.
// It does not wait for them to terminate.
func CleanupRuns(ctx context.Context, client kubernetes.Interface, all bool) ([]string, error) {
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var removed []string
	var errs []error
	for _, ns := range list.Items {
		run, ours := ns.Annotations[RunAnnotation]
		if !ours || ns.DeletionTimestamp != nil || !(all || ownerGone(ns.Annotations[OwnerAnnotation])) {
			continue
		}
		err := client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			errs = append(errs, fmt.Errorf("delete namespace %s of run %s: %w", ns.Name, run, err))
		default:
			removed = append(removed, fmt.Sprintf("namespace %s (run %s, owner %s)", ns.Name, run, ns.Annotations[OwnerAnnotation]))
		}
	}
	return removed, errors.Join(errs...)
}
