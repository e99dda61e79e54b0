package kind

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/types"
	kinderrors "sigs.k8s.io/kind/pkg/errors"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// E2EProvider offers this package's kind clusters to sigs.k8s.io/e2e-framework
// as a cluster provider: envfuncs.CreateClusterWithOpts, CreateClusterWithConfig
// and DestroyCluster drive it as they drive e2e-framework's own kind support.
// That one shells out to a kind binary and installs one when none is on
// PATH; this one calls Create, which links the kind library and builds the
// node image offline, so the cluster is the harness's: its plain CNI, the
// probe and enforcer images loaded, the edge guard in place.
//
// A value holds one cluster. Should Create succeed and WaitForControlPlane
// fail, e2e-framework keeps no handle to the cluster (DestroyCluster finds
// none), so the caller destroys it through this value.
type E2EProvider struct {
	opts provider.Options
	// version and path are kept only to refuse them in Create.
	version, path string
	cluster       *Cluster
	rest          *rest.Config
}

var _ types.E2EClusterProvider = (*E2EProvider)(nil)

// NewE2EProvider returns a provider that creates its cluster with opts.
// The e2e-framework calls that follow may set opts.Name (WithName) and
// opts.KindConfig (CreateWithConfig).
func NewE2EProvider(opts provider.Options) *E2EProvider {
	return &E2EProvider{opts: opts}
}

// SetDefaults fills what the options left unset.
func (p *E2EProvider) SetDefaults() types.E2EClusterProvider {
	p.opts = p.opts.Defaults()
	return p
}

// WithName sets the cluster's name. Create refuses a name that lacks
// provider.RunNamePrefix (cleanup finds leftovers by it), is no DNS label,
// or names a cluster that exists.
func (p *E2EProvider) WithName(name string) types.E2EClusterProvider {
	p.opts.Name = name
	return p
}

// WithVersion makes Create fail whatever the version: e2e-framework's kind
// provider reads it as the kind binary to install, and this provider runs
// none; it uses the kind library this module requires. The Kubernetes
// version is the node image's (provider.Options.NodeImage, or the one
// package nodeimage builds).
func (p *E2EProvider) WithVersion(version string) types.E2EClusterProvider {
	p.version = version
	return p
}

// WithPath makes Create fail whatever the path, as WithVersion does: there
// is no kind binary to point at.
func (p *E2EProvider) WithPath(path string) types.E2EClusterProvider {
	p.path = path
	return p
}

// WithOpts applies opts to the provider.
func (p *E2EProvider) WithOpts(opts ...types.ClusterOpts) types.E2EClusterProvider {
	for _, o := range opts {
		o(p)
	}
	return p
}

// Create builds the cluster with Create and returns its kubeconfig path.
// args, kind command-line flags for e2e-framework's provider, are refused:
// the options are provider.Options. Unlike e2e-framework's provider it does
// not reuse a cluster of the same name; it fails.
func (p *E2EProvider) Create(ctx context.Context, args ...string) (string, error) {
	switch {
	case p.cluster != nil:
		return "", fmt.Errorf("kind cluster %s: created already; one provider holds one cluster", p.cluster.Name())
	case p.version != "":
		return "", fmt.Errorf("kind cluster: WithVersion(%q): no kind binary runs here, the kind library is linked in; pick the Kubernetes version by the node image", p.version)
	case p.path != "":
		return "", fmt.Errorf("kind cluster: WithPath(%q): no kind binary runs here, the kind library is linked in", p.path)
	case len(args) > 0:
		return "", fmt.Errorf("kind cluster: arguments %q: no kind binary runs here; set provider.Options instead", args)
	}
	c, err := Create(ctx, p.opts)
	if err != nil {
		return "", err
	}
	rest, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		// e2e-framework keeps no handle to a cluster whose Create failed.
		return "", errors.Join(fmt.Errorf("kind cluster %s: %w", c.Name(), err), c.Destroy(context.WithoutCancel(ctx)))
	}
	p.cluster, p.rest = c, rest
	return c.Kubeconfig(), nil
}

// CreateWithConfig is Create with kindConfig (a kind configuration file) in
// place of the default configuration; empty keeps the default.
func (p *E2EProvider) CreateWithConfig(ctx context.Context, kindConfig string) (string, error) {
	if kindConfig != "" {
		p.opts.KindConfig = kindConfig
	}
	return p.Create(ctx)
}

// GetKubeconfig returns the path of the cluster's kubeconfig, or "" before
// Create.
func (p *E2EProvider) GetKubeconfig() string {
	if p.cluster == nil {
		return ""
	}
	return p.cluster.Kubeconfig()
}

// GenerateKubeconfig returns the path GetKubeconfig does: Create wrote the
// kubeconfig, and it holds for the cluster's life. args, flags of `kind get
// kubeconfig` for e2e-framework's provider, are refused.
func (p *E2EProvider) GenerateKubeconfig(args ...string) (string, error) {
	switch {
	case p.cluster == nil:
		return "", errors.New("kind cluster: no kubeconfig before Create")
	case len(args) > 0:
		return "", fmt.Errorf("kind cluster %s: kubeconfig arguments %q: no kind binary runs here", p.cluster.Name(), args)
	}
	return p.cluster.Kubeconfig(), nil
}

// GetKubectlContext returns the kubeconfig context of the cluster: the kind
// library names it "kind-" and the cluster's name.
func (p *E2EProvider) GetKubectlContext() string {
	name := p.opts.Name
	if p.cluster != nil {
		name = p.cluster.Name()
	}
	return "kind-" + name
}

// ExportLogs writes the nodes' logs (journal, kubelet, containerd, pods)
// under dest, as `kind export logs` does. The image list is left out: kind
// takes it with crictl, which the offline node image does not carry.
func (p *E2EProvider) ExportLogs(_ context.Context, dest string) error {
	if p.cluster == nil {
		return errors.New("kind cluster: no logs before Create")
	}
	err := p.cluster.kind.CollectLogs(p.cluster.Name(), dest)
	if err == nil {
		return nil
	}
	all := kinderrors.Errors(err) // the failures of each node's commands
	if all == nil {
		all = []error{err}
	}
	var left []error
	for _, e := range all {
		if !listsImages(e) {
			left = append(left, e)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("kind cluster %s: export logs to %s: %w", p.cluster.Name(), dest, errors.Join(left...))
	}
	return nil
}

// Destroy deletes the cluster and its guard. It is safe to call more than
// once, and before Create.
func (p *E2EProvider) Destroy(ctx context.Context) error {
	if p.cluster == nil {
		return nil
	}
	return p.cluster.Destroy(ctx)
}

// KubernetesRestConfig returns the cluster's REST configuration, or nil
// before Create.
func (p *E2EProvider) KubernetesRestConfig() *rest.Config { return p.rest }

// Cluster returns the cluster Create built, for the harness's runner; nil
// before Create.
func (p *E2EProvider) Cluster() *Cluster { return p.cluster }

// WaitForControlPlane waits, through client, until every node of the
// cluster is registered and Ready. Create has waited for Ready already;
// this confirms it through the client e2e-framework hands to tests. With
// provider.CNIManifests the nodes only become Ready once InstallEnforcer
// applies the plugin, so then they need only be registered.
func (p *E2EProvider) WaitForControlPlane(ctx context.Context, client klient.Client) error {
	if p.cluster == nil {
		return errors.New("kind cluster: no control plane before Create")
	}
	name := p.cluster.Name()
	all, err := p.cluster.kind.ListNodes(name)
	if err != nil {
		return fmt.Errorf("kind cluster %s: %w", name, err)
	}
	// The list names kind's node containers, which are the nodes' names:
	// ResourcesMatch gets each named object, and an empty list would match
	// at once.
	list := &corev1.NodeList{}
	pending := map[string]bool{}
	for _, n := range all {
		list.Items = append(list.Items, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.String()}})
		pending[n.String()] = true
	}
	want, state := nodeReady, "Ready"
	if p.cluster.cni == provider.CNIManifests {
		want, state = func(*corev1.Node) bool { return true }, "registered"
	}
	match := func(obj k8s.Object) bool {
		n, ok := obj.(*corev1.Node)
		if ok && want(n) {
			delete(pending, n.Name)
			return true
		}
		return false
	}
	err = wait.For(conditions.New(client.Resources()).ResourcesMatch(list, match),
		wait.WithContext(ctx), wait.WithTimeout(3*time.Minute), wait.WithInterval(time.Second), wait.WithImmediate())
	if err != nil {
		left := make([]string, 0, len(pending))
		for n := range pending {
			left = append(left, n)
		}
		slices.Sort(left)
		return fmt.Errorf("kind cluster %s: nodes not %s: %v: %w", name, state, left, err)
	}
	return nil
}

// listsImages says whether err is the failure of a node's `crictl images`.
func listsImages(err error) bool {
	var re *kindexec.RunError
	return errors.As(err, &re) && len(re.Command) >= 2 && slices.Equal(re.Command[len(re.Command)-2:], []string{"crictl", "images"})
}
