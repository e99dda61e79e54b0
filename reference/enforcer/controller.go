package enforcer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
)

const (
	initialBackoff = 500 * time.Millisecond
	maxBackoff     = 30 * time.Second
)

// Enforcer is the controller: informers on Pods, Namespaces, NetworkPolicies
// and Nodes feed level-triggered syncs (render everything, apply if changed)
// for the pods of one node.
type Enforcer struct {
	client  kubernetes.Interface
	cfg     config
	log     *slog.Logger
	metrics *metrics

	factory    informers.SharedInformerFactory
	pods       corelisters.PodLister
	namespaces corelisters.NamespaceLister
	nodes      corelisters.NodeLister
	policies   networkinglisters.NetworkPolicyLister
	synced     []cache.InformerSynced

	trigger chan struct{}
	ready   atomic.Bool
	syncs   atomic.Uint64
	started atomic.Bool
}

// New builds an Enforcer for any client (a real one, or a fake clientset).
// WithNodeName is required.
func New(client kubernetes.Interface, opts ...Option) (*Enforcer, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.nodeName == "" {
		return nil, errors.New("enforcer: node name is required (WithNodeName, --node-name or NODE_NAME)")
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("enforcer: %w", err)
	}
	if client == nil {
		return nil, errors.New("enforcer: nil Kubernetes client")
	}
	e := &Enforcer{
		client:  client,
		cfg:     cfg,
		log:     cfg.log.With("node", cfg.nodeName),
		metrics: newMetrics(cfg.nodeName),
		trigger: make(chan struct{}, 1),
	}
	e.factory = informers.NewSharedInformerFactory(client, 0)
	podInformer := e.factory.Core().V1().Pods()
	nsInformer := e.factory.Core().V1().Namespaces()
	nodeInformer := e.factory.Core().V1().Nodes()
	npInformer := e.factory.Networking().V1().NetworkPolicies()
	e.pods, e.namespaces, e.nodes, e.policies = podInformer.Lister(), nsInformer.Lister(), nodeInformer.Lister(), npInformer.Lister()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { e.requestSync() },
		UpdateFunc: func(old, cur any) {
			if cfg.mutant.dropsUpdate(old, cur) {
				return // Mutant (kill-rate test only): stale after a relabel.
			}
			e.requestSync()
		},
		DeleteFunc: func(obj any) {
			if cfg.mutant.dropsDelete(obj) {
				return // Mutant (kill-rate test only): stale after a delete.
			}
			e.requestSync()
		},
	}
	for _, inf := range []cache.SharedIndexInformer{podInformer.Informer(), nsInformer.Informer(), nodeInformer.Informer(), npInformer.Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("enforcer: add event handler: %w", err)
		}
		e.synced = append(e.synced, inf.HasSynced)
	}
	return e, nil
}

// Ready reports whether the last sync succeeded (false before the first).
func (e *Enforcer) Ready() bool { return e.ready.Load() }

// Syncs counts successful syncs (with or without a write).
func (e *Enforcer) Syncs() uint64 { return e.syncs.Load() }

func (e *Enforcer) requestSync() {
	select {
	case e.trigger <- struct{}{}:
	default: // a sync is already pending; it will see this change too
	}
}

// Run starts the informers, waits for their caches, then syncs until ctx is
// done. It writes nothing before the caches have synced and never flushes on
// return: stale but consistent rules beat an open window during a rollout.
func (e *Enforcer) Run(ctx context.Context) error {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("enforcer: Run called twice")
	}
	// The informers stop with this context, also when the sync loop fails:
	// Shutdown waits for them, so cancel must run first (defers are LIFO).
	ctx, cancel := context.WithCancel(ctx)
	defer e.factory.Shutdown()
	defer cancel()
	e.factory.Start(ctx.Done())
	e.log.Info("waiting for informer caches")
	if !cache.WaitForCacheSync(ctx.Done(), e.synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("enforcer: informer caches did not sync")
	}
	done := make(chan error, 1)
	go func() {
		// This goroutine owns the OS thread in the node's namespace; every
		// iptables command is exec'd from it.
		if err := enterNetNS(e.cfg.netnsPath); err != nil {
			done <- fmt.Errorf("enforcer: %w", err)
			return
		}
		done <- e.syncLoop(ctx)
	}()
	return <-done
}

func (e *Enforcer) syncLoop(ctx context.Context) error {
	backend := e.cfg.backend
	if backend == BackendAuto {
		detected, err := detectBackend(ctx)
		if err != nil {
			return fmt.Errorf("enforcer: %w", err)
		}
		backend = detected
	}
	var appliers []*applier
	for _, family := range e.cfg.families {
		a, err := newApplier(family, backend, e.cfg.chainPrefix)
		if family == IPv6 && !e.cfg.familiesChosen {
			// Probe once: without ip6tables, or on a kernel without IPv6,
			// every sync would fail forever.
			if err == nil {
				_, err = a.ownedChains(ctx)
			}
			if err != nil {
				e.log.Warn("IPv6 not enforced: ip6tables is not usable here", "err", err)
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("enforcer: %w", err)
		}
		appliers = append(appliers, a)
	}
	e.log.Info("caches synced, enforcing", "backend", backend, "netns", e.cfg.netnsPath)

	resync := time.NewTicker(e.cfg.resyncPeriod)
	defer resync.Stop()
	var retry <-chan time.Time
	backoff := initialBackoff
	verify := true // the first sync lists chains: leftovers of a previous run are stale
	lastStart := time.Time{}
	for {
		if wait := e.cfg.minSyncInterval - time.Since(lastStart); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		select {
		case <-e.trigger: // coalesce: this sync covers every change so far
		default:
		}
		lastStart = time.Now()
		if err := e.syncOnce(ctx, appliers, verify); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.ready.Store(false)
			e.log.Error("sync failed, old rules kept", "err", err, "retry_in", backoff)
			retry = time.After(backoff)
			backoff = min(backoff*2, maxBackoff)
			verify = true
		} else {
			e.ready.Store(true)
			retry = nil
			backoff = initialBackoff
			verify = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.trigger:
		case <-retry:
		case <-resync.C:
			verify = true
		}
	}
}

// Snapshot reads the informer caches into a render input.
func (e *Enforcer) Snapshot() (Snapshot, error) {
	pods, err := e.pods.List(labels.Everything())
	if err != nil {
		return Snapshot{}, fmt.Errorf("list pods: %w", err)
	}
	namespaces, err := e.namespaces.List(labels.Everything())
	if err != nil {
		return Snapshot{}, fmt.Errorf("list namespaces: %w", err)
	}
	policies, err := e.policies.List(labels.Everything())
	if err != nil {
		return Snapshot{}, fmt.Errorf("list network policies: %w", err)
	}
	var node *corev1.Node
	if n, err := e.nodes.Get(e.cfg.nodeName); err == nil {
		node = n
	} else if !apierrors.IsNotFound(err) {
		return Snapshot{}, fmt.Errorf("get node %s: %w", e.cfg.nodeName, err)
	}
	return Snapshot{NodeName: e.cfg.nodeName, Node: node, Pods: pods, Namespaces: namespaces, Policies: policies}, nil
}

func (e *Enforcer) syncOnce(ctx context.Context, appliers []*applier, verify bool) error {
	start := time.Now()
	err := e.render(ctx, appliers, verify)
	e.metrics.syncDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		e.metrics.syncs.WithLabelValues("failure").Inc()
		return err
	}
	e.metrics.syncs.WithLabelValues("success").Inc()
	e.metrics.lastSuccess.SetToCurrentTime()
	e.syncs.Add(1)
	return nil
}

func (e *Enforcer) render(ctx context.Context, appliers []*applier, verify bool) error {
	snap, err := e.Snapshot()
	if err != nil {
		return err
	}
	rulesets := Render(snap, RenderOptions{DenyAction: e.cfg.denyAction, ChainPrefix: e.cfg.chainPrefix, mutant: e.cfg.mutant})
	var errs []error
	for _, a := range appliers {
		for _, rs := range rulesets {
			if rs.Family != a.family {
				continue
			}
			e.metrics.rules.WithLabelValues(rs.Family.String()).Set(float64(rs.RuleCount()))
			wrote, err := a.apply(ctx, rs, verify)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if wrote {
				e.metrics.writes.WithLabelValues(rs.Family.String()).Inc()
				e.log.Info("rules applied", "family", rs.Family.String(), "chains", len(rs.Chains), "rules", rs.RuleCount())
			}
		}
	}
	return errors.Join(errs...)
}
