package kind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/netpolcheck/netpolcheck/clusters/docker"
	"github.com/netpolcheck/netpolcheck/clusters/images"
	"github.com/netpolcheck/netpolcheck/clusters/kube"
	"github.com/netpolcheck/netpolcheck/clusters/nodeimage"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// NamePrefix starts the name of every kind cluster a run creates; cleanup
// matches on it.
const NamePrefix = provider.RunNamePrefix

// network is the docker network kind puts its nodes on.
const network = "kind"

// runDirRoot holds, per cluster, its kubeconfig and the owner's PID.
const runDirRoot = "/run/netpolcheck/kind"

// Provider describes the kind provider to package clusters.
func Provider() provider.Provider {
	return provider.Provider{
		Name: "kind",
		Create: func(ctx context.Context, opts provider.Options) (provider.Cluster, error) {
			c, err := Create(ctx, opts)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
		Cleanup: func(ctx context.Context, _ provider.Options, all bool) ([]string, error) { return Cleanup(ctx, all) },
	}
}

// Cluster is a kind cluster of this run.
type Cluster struct {
	*kube.Cluster
	name        string
	kind        *kindcluster.Provider
	kubeconfig  string
	removeGuard func() error
	log         *slog.Logger
	// cni is provider.CNIManifests when the enforcer's manifests network
	// the pods, so nodes become Ready only once they are applied.
	cni string
}

// Create builds a kind cluster with opts.Nodes workers (default 2) and
// attaches to it. On failure everything made so far is removed.
func Create(ctx context.Context, opts provider.Options) (c *Cluster, err error) {
	opts = opts.Defaults()
	log := opts.Logger
	switch {
	case opts.CNI != "" && opts.CNI != provider.CNIBuiltin && opts.CNI != provider.CNIManifests:
		return nil, fmt.Errorf("kind cluster: CNI %q: want %s or %s", opts.CNI, provider.CNIBuiltin, provider.CNIManifests)
	case opts.CNI == provider.CNIManifests && opts.EnforcerManifests == "":
		return nil, fmt.Errorf("kind cluster: CNI %s: the enforcer's manifests must install the CNI, and none are given", provider.CNIManifests)
	}
	workers := opts.Nodes
	if workers <= 0 {
		workers = 2
	}
	name, err := runName(ctx, opts.Name)
	if err != nil {
		return nil, err
	}
	c = &Cluster{name: name, log: log, removeGuard: func() error { return nil }, cni: opts.CNI}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Destroy(context.WithoutCancel(ctx)))
			c = nil
		}
	}()
	phase := func(what string, start time.Time) {
		log.Info(what, "cluster", name, "took", time.Since(start).Round(time.Millisecond))
	}

	start := time.Now()
	if _, err := docker.Ensure(ctx, docker.WithLogger(log)); err != nil {
		return c, err
	}
	phase("docker engine answers", start)

	image := opts.NodeImage
	if image == "" {
		start = time.Now()
		res, err := nodeimage.Build(ctx, nodeimage.WithLogger(log))
		if err != nil {
			return c, fmt.Errorf("node image: %w", err)
		}
		image = res.Image
		phase("node image "+image, start)
	}

	// The guard goes in before any node exists: a node hands what it
	// cannot route to docker, which would masquerade it off the machine.
	if err := docker.EnsureNetwork(ctx, network); err != nil {
		return c, err
	}
	if c.removeGuard, err = docker.Guard(ctx, network); err != nil {
		return c, err
	}

	runDir := filepath.Join(runDirRoot, name)
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return c, err
	}
	if err := os.WriteFile(filepath.Join(runDir, "owner"), []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		return c, err
	}
	c.kubeconfig = filepath.Join(runDir, "kubeconfig")
	c.kind = kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	createOpts := []kindcluster.CreateOption{
		kindcluster.CreateWithNodeImage(image),
		kindcluster.CreateWithKubeconfigPath(c.kubeconfig),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	}
	if opts.KindConfig != "" {
		createOpts = append(createOpts, kindcluster.CreateWithConfigFile(opts.KindConfig))
	} else {
		createOpts = append(createOpts, kindcluster.CreateWithV1Alpha4Config(defaultConfig(workers)))
	}
	start = time.Now()
	if err := c.kind.Create(name, createOpts...); err != nil {
		return c, fmt.Errorf("kind create cluster %s: %w", name, err)
	}
	phase("kind cluster created", start)

	rest, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		return c, err
	}
	rest.QPS, rest.Burst = 50, 100
	client, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return c, err
	}
	all, err := c.kind.ListNodes(name)
	if err != nil {
		return c, err
	}
	start = time.Now()
	if err := tuneNodes(ctx, all); err != nil {
		return c, err
	}
	if c.cni == provider.CNIManifests {
		// The plugin's manifests bring the CNI; until InstallEnforcer
		// applies them the nodes are NotReady, which the harness's own
		// pods survive: node agents are hostNetwork, pinned to their
		// node and tolerate every taint.
		log.Info("no CNI until the enforcer's manifests install one", "cluster", name)
	} else {
		if err := configureCNI(ctx, client, all); err != nil {
			return c, err
		}
		if err := waitNodesReady(ctx, client); err != nil {
			return c, err
		}
		phase("CNI configured, nodes ready", start)
	}

	start = time.Now()
	for _, tar := range []string{"probe.tar", "enforcer.tar"} {
		if err := loadArchive(all, filepath.Join(opts.ImagesDir, tar)); err != nil {
			return c, fmt.Errorf("%w (run `make images` first)", err)
		}
	}
	for _, tar := range opts.LoadImages {
		if err := loadArchive(all, tar); err != nil {
			return c, err
		}
	}
	phase(fmt.Sprintf("%d image archives loaded", 2+len(opts.LoadImages)), start)

	apiServer, err := apiServerEndpoint(all)
	if err != nil {
		return c, err
	}
	c.Cluster, err = kube.New(ctx, kube.Config{
		Name: name, REST: rest,
		ProbeImage: images.ProbeImageName, EnforcerImage: images.EnforcerImageName,
		APIServer: apiServer, DenyAction: opts.DenyAction,
		RawSCTP: !kernelHasSCTP(), Logger: log,
		EnforcerManifests: opts.EnforcerManifests, ProbeMode: opts.ProbeMode,
	})
	return c, err
}

// maxNameLen is the longest cluster name kind accepts.
const maxNameLen = 50

// runName returns wished after checking it, or a fresh run name when none
// is wished. A wished name must carry the run prefix, because cleanup finds
// leftovers by it, and must not be taken: a failed Create deletes the
// cluster of its name, which would then be someone else's. It is checked
// before anything is started, so a bad name costs nothing.
func runName(ctx context.Context, wished string) (string, error) {
	if wished == "" {
		return provider.NewRunName()
	}
	if !strings.HasPrefix(wished, NamePrefix) {
		return "", fmt.Errorf("kind cluster name %q: must start with %q, which cleanup matches on", wished, NamePrefix)
	}
	// kind names node containers and their hostnames after the cluster.
	if errs := validation.IsDNS1123Label(wished); len(errs) > 0 {
		return "", fmt.Errorf("kind cluster name %q: %s", wished, strings.Join(errs, "; "))
	}
	if len(wished) > maxNameLen {
		return "", fmt.Errorf("kind cluster name %q: longer than kind's limit of %d characters", wished, maxNameLen)
	}
	taken := false
	if _, err := os.Stat(filepath.Join(runDirRoot, wished)); err == nil {
		taken = true // a run of ours holds it, or left it behind
	} else if docker.Answers(ctx) {
		names, err := kindcluster.NewProvider(kindcluster.ProviderWithDocker()).List()
		if err != nil {
			return "", fmt.Errorf("kind cluster name %q: listing kind clusters: %w", wished, err)
		}
		taken = slices.Contains(names, wished)
	}
	if taken {
		return "", fmt.Errorf("kind cluster %s exists already (netpolcheck cluster cleanup removes leftovers)", wished)
	}
	return wished, nil
}

// defaultConfig is one control-plane node and the workers, kindnet off,
// and the kubelet allowed to run on cgroup v1 hosts.
func defaultConfig(workers int) *v1alpha4.Cluster {
	cfg := &v1alpha4.Cluster{
		TypeMeta:   v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Nodes:      []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}},
		Networking: v1alpha4.Networking{DisableDefaultCNI: true},
		KubeadmConfigPatches: []string{
			"kind: KubeletConfiguration\napiVersion: kubelet.config.k8s.io/v1beta1\nfailCgroupV1: false\n",
		},
	}
	for range workers {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole})
	}
	v1alpha4.SetDefaultsCluster(cfg)
	return cfg
}

// InstallEnforcer installs the enforcer under test. When its manifests are
// also the CNI (provider.CNIManifests), it then waits for the nodes to
// become Ready: only the plugin's CNI makes them so.
func (c *Cluster) InstallEnforcer(ctx context.Context, name string) error {
	if err := c.Cluster.InstallEnforcer(ctx, name); err != nil {
		return err
	}
	if c.cni != provider.CNIManifests {
		return nil
	}
	start := time.Now()
	if err := waitNodesReady(ctx, c.Client()); err != nil {
		return fmt.Errorf("with CNI %s the enforcer's manifests must install a CNI configuration on every node: %w", provider.CNIManifests, err)
	}
	c.log.Info("nodes ready on the plugin's CNI", "cluster", c.name, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// tuneNodes sets what the harness needs of every node's network stack,
// whoever networks the pods.
func tuneNodes(ctx context.Context, all []nodes.Node) error {
	for _, node := range all {
		// A REJECTing enforcer answers every denied probe with an ICMP
		// error from the node; the kernel's ICMP rate limit would swallow
		// a round's burst of them and turn fast rejections into timeouts.
		for _, sysctl := range []string{"net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"} {
			if err := node.CommandContext(ctx, "sysctl", "-w", sysctl).Run(); err != nil {
				return fmt.Errorf("sysctl %s on %s: %w", sysctl, node, err)
			}
		}
	}
	return nil
}

// configureCNI writes a ptp + host-local configuration on every node for
// its own pod CIDR, and routes each node's CIDR via that node: a plain
// routed network that enforces nothing, so only the enforcer under test
// filters.
func configureCNI(ctx context.Context, client kubernetes.Interface, all []nodes.Node) error {
	var list *corev1.NodeList
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) < len(all) {
			return false, nil
		}
		for _, n := range l.Items {
			if n.Spec.PodCIDR == "" {
				return false, nil
			}
		}
		list = l
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("nodes without pod CIDRs: %w", err)
	}
	type route struct{ cidr, via string }
	var routes []route
	cidrOf := map[string]string{}
	for _, n := range list.Items {
		cidrOf[n.Name] = n.Spec.PodCIDR
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP && !strings.Contains(a.Address, ":") {
				routes = append(routes, route{n.Spec.PodCIDR, a.Address})
			}
		}
	}
	for _, node := range all {
		cidr, ok := cidrOf[node.String()]
		if !ok {
			return fmt.Errorf("node %s is not registered", node)
		}
		if err := nodeutils.WriteFile(node, "/etc/cni/net.d/10-netpolcheck.conflist", ptpConfig(cidr)); err != nil {
			return fmt.Errorf("CNI config on %s: %w", node, err)
		}
		for _, r := range routes {
			if r.cidr == cidr {
				continue
			}
			if err := node.CommandContext(ctx, "ip", "route", "replace", r.cidr, "via", r.via).Run(); err != nil {
				return fmt.Errorf("route %s via %s on %s: %w", r.cidr, r.via, node, err)
			}
		}
	}
	return nil
}

func ptpConfig(cidr string) string {
	return fmt.Sprintf(`{
  "cniVersion": "0.3.1",
  "name": "netpolcheck",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "ipam": {"type": "host-local", "dataDir": "/run/cni-ipam-state", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]},
      "mtu": 1500
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, cidr)
}

// waitNodesReady waits until every registered node is Ready, riding out
// API errors; when it gives up, the error names the nodes that are not.
func waitNodesReady(ctx context.Context, client kubernetes.Interface) error {
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		notReady = nil
		for i := range l.Items {
			if !nodeReady(&l.Items[i]) {
				notReady = append(notReady, l.Items[i].Name)
			}
		}
		return len(notReady) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("nodes not ready: %v: %w", notReady, err)
	}
	return nil
}

// nodeReady says whether the node's Ready condition is True.
func nodeReady(n *corev1.Node) bool {
	return slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
		return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
	})
}

// loadArchive imports an image tarball into every node's containerd.
func loadArchive(all []nodes.Node, path string) error {
	for _, node := range all {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("image archive: %w", err)
		}
		err = nodeutils.LoadImageArchive(node, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("load %s into %s: %w", path, node, err)
		}
	}
	return nil
}

// apiServerEndpoint is the control-plane node's address on the kind
// network, port 6443: reachable from every node without kube-proxy.
func apiServerEndpoint(all []nodes.Node) (string, error) {
	cp, err := nodeutils.BootstrapControlPlaneNode(all)
	if err != nil {
		return "", err
	}
	v4, _, err := cp.IP()
	if err != nil {
		return "", fmt.Errorf("control-plane address: %w", err)
	}
	return v4 + ":6443", nil
}

// kernelHasSCTP says whether this machine's kernel (which kind's nodes
// share) has SCTP sockets; without them probes speak SCTP over raw sockets.
func kernelHasSCTP() bool {
	_, err := os.Stat("/proc/sys/net/sctp")
	return err == nil
}

// Name is the kind cluster's name.
func (c *Cluster) Name() string { return c.name }

// Kubeconfig is the path of the cluster's kubeconfig.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Release deletes the run's namespaces and keeps the cluster, its enforcer
// (the objects of its manifests too) and its guard, for later runs against
// it (`--cluster existing` with Kubeconfig); `netpolcheck cluster cleanup
// --all` deletes it.
func (c *Cluster) Release(ctx context.Context) error {
	if c.Cluster == nil {
		return nil
	}
	c.Cluster.KeepEnforcer()
	return c.Cluster.Destroy(ctx)
}

// Destroy deletes the kind cluster and the guard. It is safe to call more
// than once.
func (c *Cluster) Destroy(ctx context.Context) error {
	var errs []error
	if c.kind != nil {
		if err := c.kind.Delete(c.name, c.kubeconfig); err != nil {
			errs = append(errs, fmt.Errorf("kind delete cluster %s: %w", c.name, err))
		}
	}
	errs = append(errs, c.removeGuard())
	if err := os.RemoveAll(filepath.Join(runDirRoot, c.name)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Cleanup deletes kind clusters that runs left behind: those whose owner
// process is gone, or all of netpolcheck's with all.
func Cleanup(ctx context.Context, all bool) ([]string, error) {
	if !docker.Answers(ctx) {
		return nil, nil
	}
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	names, err := p.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, name := range names {
		if !strings.HasPrefix(name, NamePrefix) || (!all && ownerAlive(name)) {
			continue
		}
		kubeconfig := filepath.Join(runDirRoot, name, "kubeconfig")
		if err := p.Delete(name, kubeconfig); err != nil {
			errs = append(errs, err)
			continue
		}
		os.RemoveAll(filepath.Join(runDirRoot, name))
		removed = append(removed, "kind cluster "+name)
	}
	// Run directories whose cluster is gone (its containers removed by
	// hand, or a crash between the two) go too, unless their run is alive.
	left, err := p.List()
	if err == nil {
		dirs, _ := os.ReadDir(runDirRoot)
		for _, d := range dirs {
			name := d.Name()
			if !strings.HasPrefix(name, NamePrefix) || slices.Contains(left, name) || (!all && ownerAlive(name)) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(runDirRoot, name)); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, "run directory of "+name+" (its cluster is gone)")
		}
	}
	// A kept cluster keeps its edge guard; once none of ours is left, the
	// guards go too.
	if err == nil && !slices.ContainsFunc(left, func(n string) bool { return strings.HasPrefix(n, NamePrefix) }) {
		n, err := docker.RemoveGuards()
		if err != nil {
			errs = append(errs, err)
		}
		if n > 0 {
			removed = append(removed, fmt.Sprintf("%d edge guard rules", n))
		}
	}
	return removed, errors.Join(errs...)
}

func ownerAlive(name string) bool {
	b, err := os.ReadFile(filepath.Join(runDirRoot, name, "owner"))
	if err != nil {
		return false
	}
	_, err = os.Stat("/proc/" + strings.TrimSpace(string(b)))
	return err == nil
}
