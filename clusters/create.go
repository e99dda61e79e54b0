package clusters

import (
	"context"
	"fmt"
	"strings"

	"github.com/netpolcheck/netpolcheck/clusters/netns"
)

// Option adjusts Create.
type Option func(*config)

type config struct {
	nodes      int
	logf       func(format string, args ...any)
	denyAction string
}

// WithNodes sets the number of nodes of a cluster the provider builds.
func WithNodes(n int) Option { return func(c *config) { c.nodes = n } }

// WithDenyAction sets how a reference enforcer the provider installs denies:
// "reject" (the default, probes fail fast) or "drop" (probes time out).
func WithDenyAction(action string) Option { return func(c *config) { c.denyAction = action } }

// WithLogf sends the provider's progress lines to logf.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// Providers lists the provider names Create accepts.
func Providers() []string { return []string{"netns"} }

// Create builds a cluster with the named provider. The caller owns it and
// must Destroy it.
func Create(ctx context.Context, provider string, opts ...Option) (Cluster, error) {
	cfg := config{}
	for _, opt := range opts {
		opt(&cfg)
	}
	switch provider {
	case "netns":
		var nopts []netns.Option
		if cfg.nodes > 0 {
			nopts = append(nopts, netns.WithNodes(cfg.nodes))
		}
		if cfg.logf != nil {
			nopts = append(nopts, netns.WithLogf(cfg.logf))
		}
		if cfg.denyAction != "" {
			nopts = append(nopts, netns.WithDenyAction(cfg.denyAction))
		}
		return netns.Create(ctx, nopts...)
	default:
		return nil, fmt.Errorf("unknown cluster provider %q (available: %s)", provider, strings.Join(Providers(), ", "))
	}
}

// Cleanup removes what earlier runs of the provider left behind (after a
// crash or kill -9). Runs still alive are kept unless all is set. It returns
// a line per removed object.
func Cleanup(ctx context.Context, provider string, all bool) ([]string, error) {
	switch provider {
	case "netns":
		return netns.Cleanup(ctx, all)
	default:
		return nil, fmt.Errorf("unknown cluster provider %q (available: %s)", provider, strings.Join(Providers(), ", "))
	}
}
