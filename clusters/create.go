package clusters

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/netpolcheck/netpolcheck/clusters/existing"
	"github.com/netpolcheck/netpolcheck/clusters/kind"
	"github.com/netpolcheck/netpolcheck/clusters/netns"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// providers lists every provider, in the order users see them.
var providers = []provider.Provider{
	netns.Provider(),
	kind.Provider(),
	existing.Provider(),
}

// Option adjusts Create.
type Option func(*provider.Options)

// WithNodes sets the number of nodes of a cluster the provider builds.
func WithNodes(n int) Option { return func(o *provider.Options) { o.Nodes = n } }

// WithDenyAction sets how a reference enforcer the provider installs denies:
// "reject" (the default, probes fail fast) or "drop" (probes time out).
func WithDenyAction(action string) Option { return func(o *provider.Options) { o.DenyAction = action } }

// WithImagesDir names the directory holding probe.tar and enforcer.tar
// (`netpolcheck images`), for providers that load images into nodes.
func WithImagesDir(dir string) Option { return func(o *provider.Options) { o.ImagesDir = dir } }

// WithNodeImage makes the kind provider use a node image instead of building
// one.
func WithNodeImage(image string) Option { return func(o *provider.Options) { o.NodeImage = image } }

// WithKindConfig replaces the kind provider's cluster configuration.
func WithKindConfig(path string) Option { return func(o *provider.Options) { o.KindConfig = path } }

// WithKubeconfig selects the existing cluster's kubeconfig and context.
func WithKubeconfig(path, context string) Option {
	return func(o *provider.Options) { o.Kubeconfig, o.Context = path, context }
}

// WithEnforcerManifests names the directory of the manifests applied for
// the enforcer "manifests" (a user's plugin).
func WithEnforcerManifests(dir string) Option {
	return func(o *provider.Options) { o.EnforcerManifests = dir }
}

// WithLoadImages loads these image tarballs into every node of a cluster
// the provider builds.
func WithLoadImages(tars ...string) Option {
	return func(o *provider.Options) { o.LoadImages = append(o.LoadImages, tars...) }
}

// WithCNI says who networks pods on a cluster the provider builds:
// "builtin" (default) or "manifests" (the enforcer's manifests).
func WithCNI(cni string) Option { return func(o *provider.Options) { o.CNI = cni } }

// WithProbeMode picks how probes reach pods on Kubernetes clusters:
// "batch" (default) or "per-cell" (the upstream e2e way, a baseline).
func WithProbeMode(mode string) Option { return func(o *provider.Options) { o.ProbeMode = mode } }

// WithLogger sends the provider's progress to logger (default: discarded).
func WithLogger(logger *slog.Logger) Option { return func(o *provider.Options) { o.Logger = logger } }

// Providers lists the provider names Create accepts.
func Providers() []string {
	names := make([]string, 0, len(providers))
	for _, p := range providers {
		names = append(names, p.Name)
	}
	return names
}

// Create builds a cluster with the named provider. The caller owns it and
// must Destroy it.
func Create(ctx context.Context, name string, opts ...Option) (Cluster, error) {
	p, err := lookup(name)
	if err != nil {
		return nil, err
	}
	var o provider.Options
	for _, opt := range opts {
		opt(&o)
	}
	return p.Create(ctx, o.Defaults())
}

// Cleanup removes what earlier runs of the provider left behind (after a
// crash or kill -9). Runs still alive are kept unless all is set. Options
// say where to look (WithKubeconfig for an existing cluster). It returns a
// line per removed object.
func Cleanup(ctx context.Context, name string, all bool, opts ...Option) ([]string, error) {
	p, err := lookup(name)
	if err != nil {
		return nil, err
	}
	var o provider.Options
	for _, opt := range opts {
		opt(&o)
	}
	return p.Cleanup(ctx, o.Defaults(), all)
}

func lookup(name string) (provider.Provider, error) {
	i := slices.IndexFunc(providers, func(p provider.Provider) bool { return p.Name == name })
	if i < 0 {
		return provider.Provider{}, fmt.Errorf("unknown cluster provider %q (available: %s)", name, strings.Join(Providers(), ", "))
	}
	return providers[i], nil
}
