package kind_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/clusters/kind"
	"github.com/netpolcheck/netpolcheck/clusters/kube"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// kindTestsEnv must be 1 for the tests that build kind clusters (make
// test-kind sets it): each takes minutes, and a machine without the node
// image cache builds one first (half an hour).
const kindTestsEnv = "NETPOLCHECK_KIND_TESTS"

// requireKind skips unless the kind tests were asked for and can run.
func requireKind(t *testing.T) string {
	t.Helper()
	if os.Getenv(kindTestsEnv) != "1" {
		t.Skipf("builds a kind cluster: run with %s=1 (make test-kind)", kindTestsEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatal("the kind tests start docker and read the host's iptables: run them as root")
	}
	_, file, _, _ := runtime.Caller(0)
	images := filepath.Join(filepath.Dir(file), "..", "..", "_output", "images")
	if _, err := os.Stat(filepath.Join(images, "probe.tar")); err != nil {
		t.Fatalf("no probe image in %s: run make images (make test-kind does)", images)
	}
	return images
}

// TestKindCluster builds one kind cluster and checks, in the order a run
// meets them: the guard that keeps the kind network on this machine is in
// the host's tables before the first node container exists; the preflight
// stops a run whose enforcer enforces nothing, and one where something else
// filters traffic (a stray REJECT on the nodes); with the reference
// enforcer it passes; cleanup of an existing cluster (this one, by its
// kubeconfig) deletes only the namespaces of runs whose process is gone;
// and once the cluster is deleted its guard is gone
// and no container of it is left. Clauses: DESIGN "Clusters" (kind; the
// guard), issue 9 (preflight).
func TestKindCluster(t *testing.T) {
	images := requireKind(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	guardsBefore := guardRules(t)
	names := &clusterName{}
	firstNode := make(chan []string, 1) // the guard rules when the first node appeared
	go func() {
		for ctx.Err() == nil {
			if name := names.get(); name != "" && len(containersOf(name)) > 0 {
				firstNode <- guardRules(t)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	logger := slog.New(&nameCatcher{names: names})
	c, err := kind.Create(ctx, provider.Options{ImagesDir: images, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_ = c.Destroy(context.Background())
		}
	})

	var ours []string // the guard rules this cluster placed
	select {
	case atFirstNode := <-firstNode:
		for _, r := range atFirstNode {
			if !slices.Contains(guardsBefore, r) {
				ours = append(ours, r)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never saw a node container of the cluster")
	}
	t.Run("guard in place before the first node", func(t *testing.T) {
		var v4, v6 int
		for _, r := range ours {
			if strings.HasPrefix(r, "ipv6 ") {
				v6++
			} else {
				v4++
			}
		}
		if v4 == 0 || v6 == 0 {
			t.Errorf("when the first node container appeared, new guard rules: %q; want one for IPv4 and one for IPv6", ours)
		}
	})

	r := runner.New(c, runner.WithDeadline(30*time.Second))
	t.Run("preflight stops when the enforcer enforces nothing", func(t *testing.T) {
		_, err := r.Preflight(ctx, true)
		if err == nil || !strings.Contains(err.Error(), "did not enforce a default-deny") {
			t.Fatalf("no enforcer installed, canary expected: want the canary to fail, got %v", err)
		}
	})
	t.Run("preflight stops when something else filters", func(t *testing.T) {
		if err := r.Reset(ctx, cases.Case{Name: "default topology"}); err != nil {
			t.Fatal(err)
		}
		topo, err := c.Topology(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(topo.Pods, func(p model.Pod) bool { return p.Ref().String() == "x/a" })
		if i < 0 {
			t.Fatal("no pod x/a")
		}
		// A stray rule on every node, as a plugin's own policy engine
		// left on would place: new connections forwarded to x/a are
		// rejected (x/a's own connections, and their replies, pass).
		rule := []string{"FORWARD", "-d", topo.Pods[i].IP + "/32", "-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "netpolcheck test: stray", "-j", "REJECT"}
		for _, node := range containersOf(c.Name()) {
			dockerExec(t, node, append([]string{"iptables", "-I"}, rule...)...)
			t.Cleanup(func() { _ = exec.Command("docker", append([]string{"exec", node, "iptables", "-D"}, rule...)...).Run() })
		}
		_, err = r.Preflight(ctx, false)
		if err == nil || !strings.Contains(err.Error(), "with no policies the default matrix does not connect") || !strings.Contains(err.Error(), "-> x/a") {
			t.Fatalf("want the baseline to stop on cells into x/a, got %v", err)
		}
		for _, node := range containersOf(c.Name()) {
			dockerExec(t, node, append([]string{"iptables", "-D"}, rule...)...)
		}
	})
	t.Run("preflight passes with the reference enforcer", func(t *testing.T) {
		if err := c.InstallEnforcer(ctx, provider.EnforcerReference); err != nil {
			t.Fatal(err)
		}
		pf, err := r.Preflight(ctx, true)
		if err != nil {
			t.Fatalf("%v\n%s", err, result.Describe(pf.Case))
		}
		t.Logf("canary enforced in %s; preflight took %s", pf.CanaryEnforcedIn, pf.Duration)
	})

	t.Run("cleanup of an existing cluster removes only dead runs' namespaces", func(t *testing.T) {
		client := c.Client()
		dead := exec.Command("true")
		if err := dead.Run(); err != nil {
			t.Fatal(err)
		}
		host, _ := os.Hostname()
		owners := map[string]string{
			"npc-test-dead":      fmt.Sprintf("%s/%d", host, dead.Process.Pid), // a run of this host whose process is gone
			"npc-test-alive":     fmt.Sprintf("%s/%d", host, os.Getpid()),
			"npc-test-elsewhere": "another-machine/1", // cannot be checked from here: kept
		}
		for name, owner := range owners {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{kube.RunAnnotation: name, kube.OwnerAnnotation: owner}}}
			if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		removed, err := clusters.Cleanup(ctx, "existing", false, clusters.WithKubeconfig(c.Kubeconfig(), ""))
		if err != nil {
			t.Fatal(err)
		}
		if len(removed) != 1 || !strings.Contains(removed[0], "npc-test-dead") {
			t.Errorf("removed %q; want only namespace npc-test-dead", removed)
		}
		for name := range owners {
			ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			gone := apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil)
			if gone != (name == "npc-test-dead") {
				t.Errorf("namespace %s: deleted %v", name, gone)
			}
		}
		// This run's own namespaces (x, y, z, the node agents') are alive.
		if _, err := client.CoreV1().Namespaces().Get(ctx, "x", metav1.GetOptions{}); err != nil {
			t.Errorf("the live run's namespace x: %v", err)
		}
		for name := range owners {
			_ = client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		}
	})

	name := c.Name()
	destroyed = true
	if err := c.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("guard and nodes gone after delete", func(t *testing.T) {
		after := guardRules(t)
		for _, r := range ours {
			if slices.Contains(after, r) {
				t.Errorf("guard rule left after the cluster was deleted: %s", r)
			}
		}
		if left := containersOf(name); len(left) > 0 {
			t.Errorf("containers left: %v", left)
		}
	})
}

// guardRules lists the host's guard rules, "ipv4 RULE" or "ipv6 RULE".
func guardRules(t *testing.T) []string {
	var out []string
	for family, save := range map[string]string{"ipv4": "iptables-save", "ipv6": "ip6tables-save"} {
		b, err := exec.Command(save, "-t", "filter").Output()
		if err != nil {
			t.Errorf("%s: %v", save, err)
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "keep the kind network on this machine") {
				out = append(out, family+" "+line)
			}
		}
	}
	return out
}

// containersOf lists the containers of kind cluster name (any state).
func containersOf(name string) []string {
	b, err := exec.Command("docker", "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster="+name, "--format", "{{.Names}}").Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

func dockerExec(t *testing.T, container string, args ...string) {
	t.Helper()
	if out, err := exec.Command("docker", append([]string{"exec", container}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("docker exec %s %v: %v\n%s", container, args, err, out)
	}
}

// clusterName is the name Create picked, learnt from its first log line.
type clusterName struct {
	mu   sync.Mutex
	name string
}

func (n *clusterName) get() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.name
}

// nameCatcher is a slog handler that keeps the "cluster" attribute.
type nameCatcher struct {
	names *clusterName
}

func (h *nameCatcher) Enabled(context.Context, slog.Level) bool { return true }
func (h *nameCatcher) Handle(_ context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "cluster" {
			h.names.mu.Lock()
			if h.names.name == "" {
				h.names.name = a.Value.String()
			}
			h.names.mu.Unlock()
		}
		return true
	})
	return nil
}
func (h *nameCatcher) WithAttrs(attrs []slog.Attr) slog.Handler { return h }
func (h *nameCatcher) WithGroup(string) slog.Handler            { return h }

// TestCleanupRemovesOrphanRunDirectories: a run directory whose cluster is
// gone (its containers removed by hand) is removed by cleanup when its run
// is dead, and kept while its owner lives.
func TestCleanupRemovesOrphanRunDirectories(t *testing.T) {
	requireKind(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]int{"npc-test-orphan-dead": dead.Process.Pid, "npc-test-orphan-alive": os.Getpid()}
	for name, pid := range dirs {
		dir := filepath.Join("/run/netpolcheck/kind", name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(fmt.Sprint(pid)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := kind.Cleanup(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(removed, func(r string) bool { return strings.Contains(r, "npc-test-orphan-dead") }) {
		t.Errorf("removed %q: want the dead run's directory", removed)
	}
	for name := range dirs {
		_, err := os.Stat(filepath.Join("/run/netpolcheck/kind", name))
		if gone := os.IsNotExist(err); gone != (name == "npc-test-orphan-dead") {
			t.Errorf("run directory %s: removed %v", name, gone)
		}
	}
}
