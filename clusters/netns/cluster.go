package netns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/enforcer"
)

// RootPrefix starts every name a netns cluster creates: network namespaces,
// links, run directories. Cleanup matches on it.
const RootPrefix = provider.RunNamePrefix

// runDirRoot holds one directory per run: the owner's PID, agent sockets and
// agent logs.
const runDirRoot = "/run/netpolcheck"

var errNotRoot = errors.New("the netns cluster creates network namespaces and iptables rules: run as root")

// Option adjusts Create.
type Option func(*config)

type config struct {
	nodes      int
	logger     *slog.Logger
	denyAction string
	resync     time.Duration
	// enforcerOpts are extra options of every reference enforcer instance.
	enforcerOpts []enforcer.Option
}

// WithNodes sets the number of nodes (default 2).
func WithNodes(n int) Option { return func(c *config) { c.nodes = n } }

// WithDenyAction makes the reference enforcer end pod chains with "reject"
// (default: probes fail fast) or "drop" (probes time out).
func WithDenyAction(action string) Option { return func(c *config) { c.denyAction = action } }

// WithEnforcerResyncPeriod sets how often the reference enforcer re-verifies
// its chains and repairs what others changed (enforcer.WithResyncPeriod;
// default 60 s). Fault tests shorten it to watch repairs.
func WithEnforcerResyncPeriod(d time.Duration) Option {
	return func(c *config) { c.resync = d }
}

// WithEnforcerOptions passes extra options to every reference enforcer the
// cluster starts, after its own, so they win. It is a test hook: the
// kill-rate test (suites/mutants) makes the enforcer a mutant with
// enforcer.WithMutant. Without it nothing changes.
func WithEnforcerOptions(opts ...enforcer.Option) Option {
	return func(c *config) { c.enforcerOpts = append(c.enforcerOpts, opts...) }
}

// WithLogger sends progress and the enforcers' logs to logger (default:
// discarded).
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// Cluster is a netns cluster. It is safe for concurrent use.
type Cluster struct {
	prefix string
	runDir string
	log    *slog.Logger
	deny   enforcer.DenyAction
	resync time.Duration // of the reference enforcer; 0: its default
	// enforcerOpts come last in every reference enforcer's options
	// (WithEnforcerOptions).
	enforcerOpts []enforcer.Option

	fabric *fabric.Fabric
	client *fake.Clientset
	// watches counts the watches opened on client (see newAPI).
	watches *atomic.Int64
	// watchesPaused drops the events of every watch while set (see
	// PauseWatches).
	watchesPaused *atomic.Bool

	mu   sync.Mutex
	pods map[string]*podRuntime // by namespace/name
	// nodeAgents are the liveness probe sources, one per node, by node name.
	nodeAgents map[string]*podRuntime
	parked     map[string]*podRuntime // set aside by Deploy, by namespace/name
	podSeq     int
	// enforcers stops the reference enforcer instance of each node.
	enforcers map[string]func() error
	destroyed bool
}

// Create builds the nodes and an empty API holding them. It needs root.
func Create(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg := config{nodes: 2, logger: provider.Discard()}
	for _, opt := range opts {
		opt(&cfg)
	}
	if os.Geteuid() != 0 {
		return nil, errNotRoot
	}
	deny := enforcer.DenyReject
	if cfg.denyAction != "" {
		d, err := enforcer.ParseDenyAction(cfg.denyAction)
		if err != nil {
			return nil, fmt.Errorf("netns cluster: %w", err)
		}
		deny = d
	}
	prefix, err := newRunPrefix()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		prefix: prefix,
		runDir: filepath.Join(runDirRoot, prefix),
		log:    cfg.logger,
		deny:   deny,
		resync: cfg.resync,
		pods:   map[string]*podRuntime{},
		parked: map[string]*podRuntime{},

		nodeAgents:   map[string]*podRuntime{},
		enforcerOpts: cfg.enforcerOpts,
	}
	if err := os.MkdirAll(c.runDir, 0o700); err != nil {
		return nil, fmt.Errorf("netns cluster %s: run directory: %w", prefix, err)
	}
	// The owner file tells cleanup whether this run is still alive.
	owner, err := ownerRecord()
	if err == nil {
		err = os.WriteFile(filepath.Join(c.runDir, "owner"), []byte(owner), 0o600)
	}
	if err != nil {
		os.RemoveAll(c.runDir)
		return nil, fmt.Errorf("netns cluster %s: %w", prefix, err)
	}
	start := time.Now()
	fab, err := fabric.New(ctx, prefix, cfg.nodes)
	if err != nil {
		os.RemoveAll(c.runDir)
		return nil, fmt.Errorf("netns cluster %s: %w", prefix, err)
	}
	c.fabric = fab
	c.client, c.watches, c.watchesPaused = newAPI()
	for _, n := range fab.Nodes() {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, nodeObject(n), createOpts); err != nil {
			return nil, errors.Join(fmt.Errorf("netns cluster %s: register node %s: %w", prefix, n.Name, err), c.Destroy(context.WithoutCancel(ctx)))
		}
	}
	if err := c.startNodeAgents(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("netns cluster %s: %w", prefix, err), c.Destroy(context.WithoutCancel(ctx)))
	}
	c.log.Info("netns cluster created", "cluster", prefix, "nodes", cfg.nodes, "took", time.Since(start).Round(time.Millisecond))
	return c, nil
}

// newRunPrefix returns RootPrefix plus four random characters and a dash,
// e.g. "npc-k3x9-": short enough for interface names, unique per run.
func newRunPrefix() (string, error) {
	name, err := provider.NewRunName()
	return name + "-", err
}

// Name returns the run prefix.
func (c *Cluster) Name() string { return c.prefix }

// Client returns the fake clientset that stands for the API server.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Prober returns a Prober that runs batches in the source pod's namespace.
func (c *Cluster) Prober() matrix.Prober { return prober{c: c} }

// Destroy stops the enforcers and agents and removes every namespace, link
// and file of this run. It may be called more than once.
func (c *Cluster) Destroy(ctx context.Context) error {
	c.mu.Lock()
	enforcers := c.enforcers
	c.enforcers = nil
	pods := c.pods
	c.pods = map[string]*podRuntime{}
	for k, p := range c.parked {
		pods[k+" (parked)"] = p
	}
	for node, p := range c.nodeAgents {
		pods["node agent "+node] = p
	}
	c.nodeAgents = map[string]*podRuntime{}
	c.parked = map[string]*podRuntime{}
	c.destroyed = true
	c.mu.Unlock()

	for _, stop := range enforcers {
		stop()
	}
	for _, p := range pods {
		p.stopAgent()
	}
	var errs []error
	// Agents this process lost track of (none, normally) are found by name.
	if err := killAgents(c.prefix); err != nil {
		errs = append(errs, err)
	}
	if c.fabric != nil {
		if err := c.fabric.Destroy(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(c.runDir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", c.runDir, err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy netns cluster %s: %w", c.prefix, err)
	}
	return nil
}
