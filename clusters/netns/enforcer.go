package netns

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
	"github.com/netpolcheck/netpolcheck/reference/enforcer"
)

// Enforcer timing in the netns cluster: events reach the enforcer within
// microseconds, so syncs may follow each other closely.
const (
	enforcerMinSyncInterval = 10 * time.Millisecond
	enforcerReadyTimeout    = 30 * time.Second
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
	logger := slog.New(slog.NewTextHandler(logfWriter(c.logf), &slog.HandlerOptions{Level: slog.LevelWarn}))
	type instance struct {
		node    string
		e       *enforcer.Enforcer
		stopped chan error
	}
	var instances []instance
	watchesBefore := c.watches.Load()
	for _, n := range c.fabric.Nodes() {
		e, err := enforcer.New(c.client,
			enforcer.WithNodeName(n.Name),
			enforcer.WithNetNS(fabric.NetNSPath(n.NetNS)),
			enforcer.WithMinSyncInterval(enforcerMinSyncInterval),
			enforcer.WithIPFamilies(enforcer.IPv4),
			enforcer.WithDenyAction(c.deny),
			enforcer.WithLogger(logger),
		)
		if err != nil {
			return fmt.Errorf("netns cluster %s: enforcer for %s: %w", c.prefix, n.Name, err)
		}
		runCtx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- e.Run(runCtx) }()
		c.mu.Lock()
		// Destroy stops it and waits: no goroutine writes rules into a
		// namespace being deleted.
		c.enforcers = append(c.enforcers, func() {
			cancel()
			select {
			case <-stopped:
			case <-time.After(5 * time.Second):
			}
		})
		c.mu.Unlock()
		instances = append(instances, instance{node: n.Name, e: e, stopped: stopped})
	}
	deadline := time.Now().Add(enforcerReadyTimeout)
	for {
		ready := 0
		for _, in := range instances {
			select {
			case err := <-in.stopped:
				return fmt.Errorf("netns cluster %s: reference enforcer on %s stopped: %v", c.prefix, in.node, err)
			default:
			}
			if in.e.Ready() {
				ready++
			}
		}
		watching := c.watches.Load()-watchesBefore >= int64(enforcerInformers*len(instances))
		if ready == len(instances) && watching {
			c.logf("netns cluster %s: reference enforcer synced on %d nodes", c.prefix, ready)
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

// logfWriter turns log lines into logf calls.
type logfWriter func(format string, args ...any)

func (w logfWriter) Write(b []byte) (int, error) {
	w("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
