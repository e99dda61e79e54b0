package kind_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netpolcheck/netpolcheck/clusters/kind"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// TestE2EFrameworkDrivesKindProvider runs the kind provider the way an
// e2e-framework suite does: CreateClusterWithOpts builds the cluster under
// the name the suite chose and waits for its control plane; a feature sees,
// through cfg.Client(), one control-plane node and two workers, all Ready;
// DestroyCluster leaves no container of it. The env funcs are called here
// instead of registered with Setup and Finish, which only env.Run runs, from
// a TestMain this package's other tests run without.
func TestE2EFrameworkDrivesKindProvider(t *testing.T) {
	images := requireKind(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	name, err := provider.NewRunName()
	if err != nil {
		t.Fatal(err)
	}
	p := kind.NewE2EProvider(provider.Options{ImagesDir: images, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	// After a failure past Create, e2e-framework holds no handle to destroy
	// the cluster with.
	t.Cleanup(func() { _ = p.Destroy(context.Background()) })

	cfg := envconf.New()
	ctx, err = envfuncs.CreateClusterWithOpts(p, name)(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}

	feature := features.New("kind provider").
		Assess("the cluster is the one asked for", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			if got, ok := envfuncs.GetClusterFromContext(ctx, name); !ok || got != p {
				t.Errorf("cluster %s in the context: %v (found %t), want the provider", name, got, ok)
			}
			if got := p.Cluster().Name(); got != name {
				t.Errorf("cluster name %q, want %q", got, name)
			}
			kubeconfig, err := clientcmd.LoadFromFile(p.GetKubeconfig())
			if err != nil {
				t.Fatal(err)
			}
			if kubeconfig.CurrentContext != p.GetKubectlContext() {
				t.Errorf("kubeconfig context %q, GetKubectlContext %q", kubeconfig.CurrentContext, p.GetKubectlContext())
			}
			return ctx
		}).
		Assess("one control plane and two workers, all Ready", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var nodes corev1.NodeList
			if err := cfg.Client().Resources().List(ctx, &nodes); err != nil {
				t.Fatal(err)
			}
			roles := map[string]int{}
			for _, n := range nodes.Items {
				role := "worker"
				if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; ok {
					role = "control-plane"
				}
				roles[role]++
				ready := false
				for _, c := range n.Status.Conditions {
					ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
				}
				if !ready {
					t.Errorf("node %s is not Ready", n.Name)
				}
			}
			if roles["control-plane"] != 1 || roles["worker"] != 2 {
				t.Errorf("nodes by role: %v, want 1 control-plane and 2 workers", roles)
			}
			if got := containersOf(name); len(got) != 3 {
				t.Errorf("containers of %s: %v, want 3", name, got)
			}
			return ctx
		}).
		Assess("ExportLogs writes the nodes' logs", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			dest := t.TempDir()
			if err := p.ExportLogs(ctx, dest); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dest, name+"-control-plane", "kubelet.log")); err != nil {
				t.Error(err)
			}
			return ctx
		}).
		Feature()
	env.NewWithConfig(cfg).WithContext(ctx).Test(t, feature)

	if _, err := envfuncs.DestroyCluster(name)(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if left := containersOf(name); len(left) > 0 {
		t.Errorf("containers left after DestroyCluster: %v", left)
	}
}

// TestE2EProviderRefusesWhatNeedsAKindBinary proves that the options of
// e2e-framework's kind provider that only make sense for a kind binary
// fail at Create, before anything starts, instead of being ignored.
func TestE2EProviderRefusesWhatNeedsAKindBinary(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func(p *kind.E2EProvider) error
	}{
		{"WithVersion", func(p *kind.E2EProvider) error {
			_, err := p.WithVersion("v0.33.0").Create(context.Background())
			return err
		}},
		{"WithPath", func(p *kind.E2EProvider) error {
			_, err := p.WithPath("/usr/local/bin/kind").Create(context.Background())
			return err
		}},
		{"command-line arguments", func(p *kind.E2EProvider) error {
			_, err := p.Create(context.Background(), "--retain")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.create(kind.NewE2EProvider(provider.Options{}))
			if err == nil || !strings.Contains(err.Error(), "no kind binary") {
				t.Fatalf("want a refusal naming the missing kind binary, got %v", err)
			}
		})
	}
}

// TestCreateRefusesBadNames proves that a wished cluster name is checked
// before anything starts: it must carry the run prefix cleanup matches on,
// be a DNS label, and fit kind's length limit.
func TestCreateRefusesBadNames(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"mycluster", "must start with"},
		{"npc-Upper", "RFC 1123"},
		{"npc-" + strings.Repeat("a", 47), "longer than kind's limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kind.Create(context.Background(), provider.Options{Name: tc.name})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}
