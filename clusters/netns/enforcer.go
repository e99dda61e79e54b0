package netns

import (
	"context"
	"fmt"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
	"github.com/netpolcheck/netpolcheck/reference/enforcer"
)

// Enforcer timing in the netns cluster: events reach the enforcer within
// microseconds, so syncs may follow each other closely.
const (
	enforcerMinSyncInterval = 10 * time.Millisecond
	enforcerReadyTimeout    = 30 * time.Second
	enforcerStopTimeout     = 5 * time.Second
)

// InstallEnforcer starts the enforcer under test: "reference" runs the
// reference enforcer in this process, one instance per node, each writing
// iptables rules inside its node namespace and watching the fake API; "none"
// runs nothing. It returns once every instance has synced once and all their
// informers watch the API.
func (c *Cluster) InstallEnforcer(ctx context.Context, name string) error {
	switch name {
	case "none":
		return nil
	case "reference":
	default:
		return fmt.Errorf("netns cluster %s: unknown enforcer %q (want reference or none)", c.prefix, name)
	}
	var nodes []string
	for _, n := range c.fabric.Nodes() {
		nodes = append(nodes, n.Name)
	}
	return c.startEnforcers(ctx, nodes)
}

// nodeEnforcer is one running instance of the reference enforcer.
type nodeEnforcer struct {
	node   string
	e      *enforcer.Enforcer
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // what Run returned; read after done
}

// stop cancels the instance's context, as a crash would end it (the enforcer
// never flushes on shutdown), and waits for Run to return: no goroutine keeps
// writing rules into a namespace about to be deleted.
func (n *nodeEnforcer) stop() error {
	n.cancel()
	select {
	case <-n.done:
		return nil
	case <-time.After(enforcerStopTimeout):
		return fmt.Errorf("reference enforcer on %s did not stop within %s", n.node, enforcerStopTimeout)
	}
}

// startEnforcers starts one reference enforcer instance per named node and
// waits until all are ready (see waitEnforcersReady).
func (c *Cluster) startEnforcers(ctx context.Context, nodes []string) error {
	logger := c.log.With("cluster", c.prefix)
	watchesBefore := c.watches.Load()
	var started []*nodeEnforcer
	for _, node := range nodes {
		n, err := c.fabric.NodeByName(node)
		if err != nil {
			return fmt.Errorf("netns cluster %s: %w", c.prefix, err)
		}
		opts := []enforcer.Option{
			enforcer.WithNodeName(n.Name),
			enforcer.WithNetNS(fabric.NetNSPath(n.NetNS)),
			enforcer.WithMinSyncInterval(enforcerMinSyncInterval),
			enforcer.WithIPFamilies(enforcer.IPv4),
			enforcer.WithDenyAction(c.deny),
			enforcer.WithLogger(logger),
		}
		if c.resync > 0 {
			opts = append(opts, enforcer.WithResyncPeriod(c.resync))
		}
		opts = append(opts, c.enforcerOpts...)
		e, err := enforcer.New(c.client, opts...)
		if err != nil {
			return fmt.Errorf("netns cluster %s: enforcer for %s: %w", c.prefix, n.Name, err)
		}
		runCtx, cancel := context.WithCancel(context.Background())
		in := &nodeEnforcer{node: n.Name, e: e, cancel: cancel, done: make(chan struct{})}
		c.mu.Lock()
		switch {
		case c.destroyed:
			c.mu.Unlock()
			cancel()
			return fmt.Errorf("netns cluster %s: start enforcer on %s: cluster is destroyed", c.prefix, n.Name)
		case c.enforcers[n.Name] != nil:
			c.mu.Unlock()
			cancel()
			return fmt.Errorf("netns cluster %s: a reference enforcer already runs on %s", c.prefix, n.Name)
		}
		if c.enforcers == nil {
			c.enforcers = map[string]func() error{}
		}
		// Destroy and StopEnforcer stop it through this entry.
		c.enforcers[n.Name] = in.stop
		c.mu.Unlock()
		go func() {
			in.err = e.Run(runCtx)
			close(in.done)
		}()
		started = append(started, in)
	}
	return c.waitEnforcersReady(ctx, started, watchesBefore)
}

// waitEnforcersReady returns once every instance has synced once and the
// watches opened since watchesBefore cover all their informers.
func (c *Cluster) waitEnforcersReady(ctx context.Context, instances []*nodeEnforcer, watchesBefore int64) error {
	deadline := time.Now().Add(enforcerReadyTimeout)
	for {
		ready := 0
		for _, in := range instances {
			select {
			case <-in.done:
				return fmt.Errorf("netns cluster %s: reference enforcer on %s stopped: %v", c.prefix, in.node, in.err)
			default:
			}
			if in.e.Ready() {
				ready++
			}
		}
		watching := c.watches.Load()-watchesBefore >= int64(enforcerInformers*len(instances))
		if ready == len(instances) && watching {
			c.log.Info("reference enforcer synced", "cluster", c.prefix, "nodes", ready)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns cluster %s: reference enforcer ready on %d of %d nodes after %s", c.prefix, ready, len(instances), enforcerReadyTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
