package netns

import (
	"context"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// Provider describes the netns provider to package clusters.
func Provider() provider.Provider {
	return provider.Provider{
		Name: "netns",
		Create: func(ctx context.Context, opts provider.Options) (provider.Cluster, error) {
			opts = opts.Defaults()
			nopts := []Option{WithLogger(opts.Logger)}
			if opts.Nodes > 0 {
				nopts = append(nopts, WithNodes(opts.Nodes))
			}
			if opts.DenyAction != "" {
				nopts = append(nopts, WithDenyAction(opts.DenyAction))
			}
			return Create(ctx, nopts...)
		},
		Cleanup: Cleanup,
	}
}

var _ provider.Cluster = (*Cluster)(nil)
