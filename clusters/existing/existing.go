// Package existing is the provider for a cluster someone else runs: any
// kubeconfig and context. It creates only namespaced objects of its run
// (marked with kube.RunAnnotation) plus the node agents and, when asked, the
// reference enforcer, and Destroy deletes them, also after Ctrl-C. The
// probe image must be on the nodes or pullable (NETPOLCHECK_PROBE_IMAGE
// names another reference).
package existing

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netpolcheck/netpolcheck/clusters/images"
	"github.com/netpolcheck/netpolcheck/clusters/kube"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// Provider describes the existing provider to package clusters.
func Provider() provider.Provider {
	return provider.Provider{
		Name: "existing",
		Create: func(ctx context.Context, opts provider.Options) (provider.Cluster, error) {
			c, err := Attach(ctx, opts)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
		Cleanup: Cleanup,
	}
}

// Attach connects to the cluster opts.Kubeconfig (or $KUBECONFIG, or
// ~/.kube/config) and opts.Context name.
func Attach(ctx context.Context, opts provider.Options) (*kube.Cluster, error) {
	opts = opts.Defaults()
	if len(opts.LoadImages) > 0 || opts.CNI == provider.CNIManifests {
		return nil, errors.New("existing cluster: images cannot be loaded into its nodes and its CNI is its own; push the images to a registry its nodes pull from")
	}
	rest, err := restConfig(opts)
	if err != nil {
		return nil, err
	}
	probe := images.ProbeImageName
	if ref := os.Getenv("NETPOLCHECK_PROBE_IMAGE"); ref != "" {
		probe = ref
	}
	name, err := provider.NewRunName()
	if err != nil {
		return nil, err
	}
	return kube.New(ctx, kube.Config{
		Name: name, REST: rest, ProbeImage: probe, EnforcerImage: images.EnforcerImageName,
		DenyAction: opts.DenyAction, RawSCTP: true, Logger: opts.Logger,
		EnforcerManifests: opts.EnforcerManifests, ProbeMode: opts.ProbeMode,
	})
}

// restConfig reads opts.Kubeconfig (or $KUBECONFIG, or ~/.kube/config) at
// opts.Context (or the current one).
func restConfig(opts provider.Options) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if opts.Kubeconfig != "" {
		rules.ExplicitPath = opts.Kubeconfig
	}
	cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
	rest, err := cfg.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("existing cluster: %w", err)
	}
	return rest, nil
}

// Cleanup deletes the namespaces that runs on the cluster opts names left
// behind: those of runs started on this machine whose process is gone, or
// every run's with all.
func Cleanup(ctx context.Context, opts provider.Options, all bool) ([]string, error) {
	rest, err := restConfig(opts)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, fmt.Errorf("existing cluster: %w", err)
	}
	return kube.CleanupRuns(ctx, client, all)
}
