package netns

import (
	"context"
	"errors"
	"fmt"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// Provider describes the netns provider to package clusters.
func Provider() provider.Provider {
	return provider.Provider{
		Name: "netns",
		Create: func(ctx context.Context, opts provider.Options) (provider.Cluster, error) {
			opts = opts.Defaults()
			if err := kubernetesOnly(opts); err != nil {
				return nil, err
			}
			nopts := []Option{WithLogger(opts.Logger)}
			if opts.Nodes > 0 {
				nopts = append(nopts, WithNodes(opts.Nodes))
			}
			if opts.DenyAction != "" {
				nopts = append(nopts, WithDenyAction(opts.DenyAction))
			}
			return Create(ctx, nopts...)
		},
		Cleanup: func(ctx context.Context, _ provider.Options, all bool) ([]string, error) { return Cleanup(ctx, all) },
	}
}

var _ provider.Cluster = (*Cluster)(nil)

// kubernetesOnly refuses the options that only mean something on a real
// Kubernetes cluster: the netns cluster has no images, no CNI and no exec.
func kubernetesOnly(opts provider.Options) error {
	switch {
	case opts.EnforcerManifests != "":
		return errors.New("netns cluster: a plugin's manifests need a real cluster (--cluster kind or existing)")
	case len(opts.LoadImages) > 0:
		return errors.New("netns cluster: it runs no images; --load-image is for kind")
	case opts.CNI != "" && opts.CNI != provider.CNIBuiltin:
		return fmt.Errorf("netns cluster: CNI %q: its pods are wired by the provider itself", opts.CNI)
	case opts.ProbeMode != "" && opts.ProbeMode != provider.ProbeModeBatch:
		return fmt.Errorf("netns cluster: probe mode %q is a baseline for clusters probed through the Kubernetes API (kind, existing)", opts.ProbeMode)
	}
	return nil
}
