package kind_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netpolcheck/netpolcheck/clusters/kind"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
	"github.com/netpolcheck/netpolcheck/reference/enforcer"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// userEnforcerImage is the reference enforcer's image under a name that
// only LoadImages puts on the nodes: its DaemonSet runs only if the
// user's tarball was loaded.
const userEnforcerImage = "example.test/user-enforcer:v1"

// pluginCRDAndConfig is a CRD and an object of its kind in one file, the
// object without a namespace: the kind is unknown to the API until the
// CRD before it is established.
const pluginCRDAndConfig = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: pluginconfigs.example.netpolcheck.test
spec:
  group: example.netpolcheck.test
  names: {kind: PluginConfig, listKind: PluginConfigList, plural: pluginconfigs, singular: pluginconfig}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: example.netpolcheck.test/v1
kind: PluginConfig
metadata:
  name: settings
spec:
  mode: enforce
`

// sharedConfigMap is an object that exists before the manifests are
// applied: apply updates it, Destroy must leave it.
const sharedConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: shared-settings
  namespace: kube-system
data:
  owner: plugin
`

// TestUserPluginFromManifestsOnKind installs the reference enforcer as a
// user's plugin would come (its manifests in a directory, its image as a
// tarball, next to a CRD and an object of it) on kind's builtin network,
// proves with the preflight that it alone enforces, and that Destroy
// deletes what the manifests created and nothing else.
func TestUserPluginFromManifestsOnKind(t *testing.T) {
	images := needKind(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "00-crd.yaml"), pluginCRDAndConfig)
	writeFile(t, filepath.Join(dir, "10-shared.yml"), sharedConfigMap)
	writeFile(t, filepath.Join(dir, "20-enforcer.yaml"), enforcerManifests(t))
	writeFile(t, filepath.Join(dir, "README.md"), "not a manifest")
	tarball := retaggedArchive(t, filepath.Join(images, "enforcer.tar"), userEnforcerImage)

	c := createKind(ctx, t, provider.Options{EnforcerManifests: dir, LoadImages: []string{tarball}, ImagesDir: images})
	client, dyn := clients(t, c.Kubeconfig())
	// Someone else's object, there before the plugin.
	if _, err := client.CoreV1().ConfigMaps("kube-system").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "shared-settings", Namespace: "kube-system"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := c.InstallEnforcer(ctx, provider.EnforcerManifests); err != nil {
		t.Fatalf("install the manifests of %s: %v", dir, err)
	}
	t.Logf("manifests applied and rolled out in %s", time.Since(start).Round(time.Millisecond))
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "shared-settings", metav1.GetOptions{})
	if err != nil || cm.Data["owner"] != "plugin" {
		t.Fatalf("the existing ConfigMap was not applied to: %v %v", cm.Data, err)
	}
	preflight(ctx, t, c)

	created := []object{
		{schema.GroupVersionResource{Group: "example.netpolcheck.test", Version: "v1", Resource: "pluginconfigs"}, "default", "settings"},
		{schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, "", "pluginconfigs.example.netpolcheck.test"},
		{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "kube-system", "netpolcheck-enforcer"},
		{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, "", "netpolcheck-enforcer"},
		{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, "", "netpolcheck-enforcer"},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, "kube-system", "netpolcheck-enforcer"},
	}
	for _, o := range created {
		if _, err := o.get(ctx, dyn); err != nil {
			t.Fatalf("%s after install: %v", o, err)
		}
	}
	// kube's Destroy, which an existing cluster's run ends with: the kind
	// cluster stays up so that the API can be asked afterwards.
	if err := c.Cluster.Destroy(ctx); err != nil {
		t.Fatalf("destroy the run: %v", err)
	}
	for _, o := range created {
		if _, err := o.get(ctx, dyn); !apierrors.IsNotFound(err) {
			t.Errorf("%s after Destroy: %v, want it deleted", o, err)
		}
	}
	if pods, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=netpolcheck-enforcer"}); err != nil || len(pods.Items) > 0 {
		t.Errorf("enforcer pods after Destroy: %d, %v", len(pods.Items), err)
	}
	if _, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "shared-settings", metav1.GetOptions{}); err != nil {
		t.Errorf("the ConfigMap that existed before the manifests: %v, want it left", err)
	}
}

// TestUserPluginAsCNIOnKind gives the pods' network to the manifests
// (provider.CNIManifests): a small CNI of their own next to the enforcer.
// Nodes must be NotReady until InstallEnforcer applies them, and the
// preflight must pass on the plugin's network.
func TestUserPluginAsCNIOnKind(t *testing.T) {
	images := needKind(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "20-enforcer.yaml"), enforcerManifests(t))
	tarball := retaggedArchive(t, filepath.Join(images, "enforcer.tar"), userEnforcerImage)
	c := createKind(ctx, t, provider.Options{EnforcerManifests: dir, LoadImages: []string{tarball}, ImagesDir: images, CNI: provider.CNIManifests})
	client, _ := clients(t, c.Kubeconfig())

	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if ready(n) {
			t.Fatalf("node %s is Ready before the plugin's CNI is installed: something else networks the pods", n.Name)
		}
	}
	// The CNI runs in the cluster's own kube-proxy image (the only one
	// on the nodes with a shell), known once the cluster is up; the
	// manifests are read when InstallEnforcer applies them.
	proxy, err := client.AppsV1().DaemonSets("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "10-cni.yaml"), strings.ReplaceAll(routedCNI, "IMAGE", proxy.Spec.Template.Spec.Containers[0].Image))

	start := time.Now()
	if err := c.InstallEnforcer(ctx, provider.EnforcerManifests); err != nil {
		t.Fatalf("install the manifests of %s: %v", dir, err)
	}
	t.Logf("CNI and enforcer applied, nodes ready in %s", time.Since(start).Round(time.Millisecond))
	preflight(ctx, t, c)
}

// routedCNI is a plugin's CNI in plain manifests: a privileged DaemonSet
// that writes a ptp + host-local configuration for its node's pod CIDR and
// routes the other nodes' CIDRs via them (what kind's builtin network does
// from outside). It runs the node's own kubectl and ip (through the host's
// root, mounted at /host), as its own ServiceAccount.
const routedCNI = `apiVersion: v1
kind: ServiceAccount
metadata: {name: user-cni, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: user-cni}
rules:
  - {apiGroups: [""], resources: [nodes], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: user-cni}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: user-cni}
subjects: [{kind: ServiceAccount, name: user-cni, namespace: kube-system}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: user-cni
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: user-cni}
  template:
    metadata:
      labels: {app: user-cni}
    spec:
      serviceAccountName: user-cni
      hostNetwork: true
      tolerations: [{operator: Exists}]
      containers:
        - name: cni
          image: IMAGE
          imagePullPolicy: IfNotPresent
          command: [bash, -c]
          args:
            - |
              set -eu
              kc=/host/usr/bin/kubectl
              conf=/host/etc/cni/net.d/10-user-cni.conflist
              until cidr=$($kc get node "$NODE_NAME" -o 'jsonpath={.spec.podCIDR}') && [ -n "$cidr" ]; do sleep 1; done
              while true; do
                $kc get nodes -o 'jsonpath={range .items[*]}{.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' |
                while read -r other via; do
                  if [ -n "$other" ] && [ "$other" != "$cidr" ]; then chroot /host ip route replace "$other" via "$via"; fi
                done
                if [ ! -f $conf ]; then
                  cat > $conf.tmp <<EOF
              {"cniVersion": "0.3.1", "name": "user-cni", "plugins": [
                {"type": "ptp", "ipMasq": false, "mtu": 1500,
                 "ipam": {"type": "host-local", "dataDir": "/run/user-cni-ipam", "ranges": [[{"subnet": "$cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "portmap", "capabilities": {"portMappings": true}}]}
              EOF
                  mv $conf.tmp $conf
                fi
                sleep 5
              done
          env:
            - name: NODE_NAME
              valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
          securityContext: {privileged: true}
          readinessProbe:
            exec: {command: [test, -f, /host/etc/cni/net.d/10-user-cni.conflist]}
            periodSeconds: 2
          volumeMounts: [{name: host, mountPath: /host}]
      volumes:
        - name: host
          hostPath: {path: /}
`

// needKind skips unless the kind tests were asked for (requireKind), and
// fails without the enforcer image the plugin is made of.
func needKind(t *testing.T) string {
	t.Helper()
	images := requireKind(t)
	if _, err := os.Stat(filepath.Join(images, "enforcer.tar")); err != nil {
		t.Fatalf("no %s: run make images (make test-kind does)", filepath.Join(images, "enforcer.tar"))
	}
	return images
}

func createKind(ctx context.Context, t *testing.T, opts provider.Options) *kind.Cluster {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	start := time.Now()
	c, err := kind.Create(ctx, opts)
	if err != nil {
		t.Fatalf("create a kind cluster: %v", err)
	}
	t.Logf("kind cluster %s created in %s", c.Name(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := c.Destroy(context.Background()); err != nil {
			t.Errorf("delete kind cluster %s: %v", c.Name(), err)
		}
	})
	return c
}

func preflight(ctx context.Context, t *testing.T, c *kind.Cluster) {
	t.Helper()
	pf, err := runner.New(c, runner.WithDeadline(60*time.Second)).Preflight(ctx, true)
	if err != nil {
		t.Fatalf("preflight: %v\n%s", err, result.Describe(pf.Case))
	}
	t.Logf("preflight passed in %s, canary enforced in %s", pf.Duration.Round(time.Millisecond), pf.CanaryEnforcedIn.Round(time.Millisecond))
}

// enforcerManifests are the reference enforcer's own manifests as a user
// would ship them: no API server address of the harness's, so its pods
// reach the API through the kubernetes Service (kube-proxy).
func enforcerManifests(t *testing.T) string {
	t.Helper()
	text, err := enforcer.Manifests(enforcer.ManifestOptions{Image: userEnforcerImage, DenyAction: enforcer.DenyReject})
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// retaggedArchive copies a docker-save tarball with its image renamed.
func retaggedArchive(t *testing.T, src, name string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(t.TempDir(), "user-enforcer.tar")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	r, w := tar.NewReader(in), tar.NewWriter(out)
	renamed := false
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "manifest.json" {
			var m []map[string]any
			if err := json.Unmarshal(data, &m); err != nil || len(m) != 1 {
				t.Fatalf("%s: manifest.json: %v", src, err)
			}
			m[0]["RepoTags"] = []string{name}
			if data, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
			h.Size, renamed = int64(len(data)), true
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if !renamed {
		t.Fatalf("%s is not a docker-save archive (no manifest.json)", src)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func clients(t *testing.T, kubeconfig string) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	rest, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(rest), dynamic.NewForConfigOrDie(rest)
}

type object struct {
	resource        schema.GroupVersionResource
	namespace, name string
}

func (o object) String() string { return o.resource.Resource + " " + o.namespace + "/" + o.name }

func (o object) get(ctx context.Context, dyn dynamic.Interface) (any, error) {
	if o.namespace == "" {
		return dyn.Resource(o.resource).Get(ctx, o.name, metav1.GetOptions{})
	}
	return dyn.Resource(o.resource).Namespace(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
}

func ready(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
