package enforcer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
)

// The integration tests run the real controller against a fake clientset, in
// real node namespaces built by fabric, and send real TCP/UDP/SCTP probes
// with the probe agent binary between pod namespaces.

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test creates network namespaces and iptables rules: run as root")
	}
}

// quietLogger keeps test output to warnings and errors.
var quietLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

var probeBinary struct {
	once sync.Once
	path string
	err  error
	dir  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if probeBinary.dir != "" {
		os.RemoveAll(probeBinary.dir)
	}
	os.Exit(code)
}

// buildProbe compiles cmd/probe once per test binary.
func buildProbe(t testing.TB) string {
	t.Helper()
	probeBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "h4-probe-")
		if err != nil {
			probeBinary.err = err
			return
		}
		probeBinary.dir = dir
		probeBinary.path = filepath.Join(dir, "probe")
		out, err := exec.Command("go", "build", "-o", probeBinary.path, "github.com/netpolcheck/netpolcheck/cmd/probe").CombinedOutput()
		if err != nil {
			probeBinary.err = fmt.Errorf("go build ./cmd/probe: %v\n%s", err, out)
		}
	})
	if probeBinary.err != nil {
		t.Fatal(probeBinary.err)
	}
	return probeBinary.path
}

// testCluster is a small netns cluster: fabric, fake API, probe servers and
// one enforcer per node.
type testCluster struct {
	t      *testing.T
	fab    *fabric.Fabric
	client *fake.Clientset
	probe  string
	pods   map[string]*fabric.PodNS // by namespace/name
	cancel []context.CancelFunc
	done   []chan error
	enf    []*Enforcer
	opts   []Option
}

type podSpec struct {
	namespace, name string
	node            int
}

func newTestCluster(t *testing.T, prefix string, pods []podSpec, opts ...Option) *testCluster {
	t.Helper()
	return newTestClusterWith(t, prefix, nil, pods, opts...)
}

// newTestClusterWith also passes fabric options (e.g. fabric.WithIPv6()).
func newTestClusterWith(t *testing.T, prefix string, fabricOpts []fabric.Option, pods []podSpec, opts ...Option) *testCluster {
	t.Helper()
	requireRoot(t)
	ctx := context.Background()
	probe := buildProbe(t)
	if err := fabric.CleanupPrefix(ctx, prefix); err != nil {
		t.Fatal(err)
	}
	fab, err := fabric.New(ctx, prefix, 2, fabricOpts...)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCluster{t: t, fab: fab, probe: probe, pods: map[string]*fabric.PodNS{}, opts: opts}
	t.Cleanup(func() {
		c.stopEnforcers()
		if err := fab.Destroy(context.Background()); err != nil {
			t.Errorf("destroy fabric: %v", err)
		}
	})
	objects := []runtime.Object{
		namespace("x", map[string]string{"team": "blue"}),
		namespace("y", map[string]string{"team": "red"}),
	}
	for _, n := range fab.Nodes() {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name},
			Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.IP.String()}}},
		}
		if n.IPv6.IsValid() {
			node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: n.IPv6.String()})
		}
		objects = append(objects, node)
	}
	for _, spec := range pods {
		key := spec.namespace + "/" + spec.name
		p, err := fab.AddPod(ctx, spec.node, key)
		if err != nil {
			t.Fatal(err)
		}
		c.pods[key] = p
		c.serve(p, key)
		node, _ := fab.Node(spec.node)
		ips := []string{p.IP.String()}
		if p.IPv6.IsValid() {
			ips = append(ips, p.IPv6.String())
		}
		obj := pod(spec.namespace, spec.name, node.Name, ips...)
		obj.Spec.Containers[0].Ports = []corev1.ContainerPort{
			{Name: "serve-80-tcp", ContainerPort: 80}, {Name: "serve-81-tcp", ContainerPort: 81},
			{Name: "serve-80-udp", ContainerPort: 80, Protocol: corev1.ProtocolUDP}, {Name: "serve-81-udp", ContainerPort: 81, Protocol: corev1.ProtocolUDP},
			{Name: "serve-80-sctp", ContainerPort: 80, Protocol: corev1.ProtocolSCTP}, {Name: "serve-81-sctp", ContainerPort: 81, Protocol: corev1.ProtocolSCTP},
		}
		objects = append(objects, obj)
	}
	c.client = fake.NewClientset(objects...)
	return c
}

// serve starts `probe serve` in the pod namespace and waits for its ready line.
func (c *testCluster) serve(p *fabric.PodNS, identity string) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := fabric.Command(ctx, p.NetNS, c.probe, "serve", "--ports", "80,81", "--protocols", "tcp,udp,sctp", "--identity", identity)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start probe serve in %s: %v", p.NetNS, err)
	}
	c.t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "ready") {
			c.t.Fatalf("probe serve in %s: %q %s", p.NetNS, line, stderr.String())
		}
	case <-time.After(10 * time.Second):
		c.t.Fatalf("probe serve in %s not ready: %s", p.NetNS, stderr.String())
	}
}

// startEnforcers runs one enforcer per node namespace and waits until each
// has synced once and every informer watch is open (the fake clientset drops
// events sent before a watch exists).
func (c *testCluster) startEnforcers() {
	c.t.Helper()
	watches := make(chan string, 64)
	c.client.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		watches <- a.GetResource().Resource
		return false, nil, nil
	})
	for _, n := range c.fab.Nodes() {
		opts := append([]Option{
			WithLogger(quietLogger),
			WithNodeName(n.Name),
			WithNetNS(fabric.NetNSPath(n.NetNS)),
			WithMinSyncInterval(20 * time.Millisecond),
			WithResyncPeriod(500 * time.Millisecond),
		}, c.opts...)
		e, err := New(c.client, opts...)
		if err != nil {
			c.t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		c.enf, c.cancel, c.done = append(c.enf, e), append(c.cancel, cancel), append(c.done, done)
	}
	deadline := time.After(15 * time.Second)
	for opened := 0; opened < 4*len(c.enf); {
		select {
		case <-watches:
			opened++
		case <-deadline:
			c.t.Fatalf("only %d informer watches opened", opened)
		}
	}
	for _, e := range c.enf {
		c.waitReady(e)
	}
	time.Sleep(100 * time.Millisecond) // the last watch registers just after its reactor ran
}

func (c *testCluster) waitReady(e *Enforcer) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !e.Ready() {
		if time.Now().After(deadline) {
			c.t.Fatal("enforcer never became ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *testCluster) stopEnforcers() {
	for i, cancel := range c.cancel {
		cancel()
		if err := <-c.done[i]; err != nil {
			c.t.Errorf("enforcer Run returned: %v", err)
		}
	}
	c.cancel, c.done = nil, nil
}

// cell is one probe and its expected outcome.
type cell struct {
	from  string // namespace/pod, or a node name
	to    string // namespace/pod
	port  int
	proto string // tcp, udp, sctp; tcp6, udp6, sctp6 probe the IPv6 address
	want  string // connected, rejected, timeout, ...
}

func (c cell) String() string {
	return fmt.Sprintf("%s -> %s %s/%d", c.from, c.to, c.proto, c.port)
}

type probeRequest struct {
	ID       string `json:"id"`
	To       string `json:"to"`
	Protocol string `json:"protocol"`
	Timeout  string `json:"timeout"`
	Expect   string `json:"expect"`
}

type probeResult struct {
	ID       string `json:"id"`
	Outcome  string `json:"outcome"`
	Identity string `json:"identity"`
	Error    string `json:"error"`
}

// probeOnce runs one `probe batch` per source and returns outcomes by cell index.
func (c *testCluster) probeOnce(cells []cell) []string {
	c.t.Helper()
	bySource := map[string][]probeRequest{}
	for i, cl := range cells {
		dst := c.pods[cl.to]
		ip, proto := dst.IP, cl.proto
		if p, ok := strings.CutSuffix(cl.proto, "6"); ok {
			ip, proto = dst.IPv6, p
		}
		bySource[cl.from] = append(bySource[cl.from], probeRequest{
			ID: fmt.Sprint(i), To: netip.AddrPortFrom(ip, uint16(cl.port)).String(),
			Protocol: proto, Timeout: "1s", Expect: cl.to,
		})
	}
	got := make([]string, len(cells))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for from, reqs := range bySource {
		netnsName := ""
		if p, ok := c.pods[from]; ok {
			netnsName = p.NetNS
		} else if n, err := c.fab.NodeByName(from); err == nil {
			netnsName = n.NetNS
		} else {
			c.t.Fatalf("unknown probe source %q", from)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			input, _ := json.Marshal(reqs)
			cmd := fabric.Command(context.Background(), netnsName, c.probe, "batch")
			cmd.Stdin = bytes.NewReader(input)
			out, err := cmd.Output()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				for _, r := range reqs {
					var i int
					fmt.Sscan(r.ID, &i)
					got[i] = "batch-failed: " + err.Error()
				}
				return
			}
			for line := range bytes.Lines(out) {
				var r probeResult
				if json.Unmarshal(line, &r) != nil {
					continue
				}
				var i int
				fmt.Sscan(r.ID, &i)
				got[i] = r.Outcome
			}
		}()
	}
	wg.Wait()
	return got
}

// expect probes until every cell shows its expected outcome (the enforcer
// converges asynchronously) and fails with the differing cells otherwise.
func (c *testCluster) expect(step string, cells []cell) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := c.probeOnce(cells)
		var wrong []string
		for i, cl := range cells {
			if got[i] != cl.want {
				wrong = append(wrong, fmt.Sprintf("  %-40s want %-9s got %s", cl, cl.want, got[i]))
			}
		}
		if len(wrong) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: %d of %d cells differ:\n%s", step, len(wrong), len(cells), strings.Join(wrong, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *testCluster) apply(np *networkingv1.NetworkPolicy) {
	c.t.Helper()
	ctx := context.Background()
	api := c.client.NetworkingV1().NetworkPolicies(np.Namespace)
	if _, err := api.Get(ctx, np.Name, metav1.GetOptions{}); err == nil {
		if _, err := api.Update(ctx, np, metav1.UpdateOptions{}); err != nil {
			c.t.Fatal(err)
		}
		return
	}
	if _, err := api.Create(ctx, np, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *testCluster) delete(ns, name string) {
	c.t.Helper()
	if err := c.client.NetworkingV1().NetworkPolicies(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// iptablesSave dumps both families' filter tables inside a node namespace.
func (c *testCluster) iptablesSave(node fabric.Node) string {
	c.t.Helper()
	var all strings.Builder
	for _, bin := range []string{"iptables-save", "ip6tables-save"} {
		out, err := fabric.Command(context.Background(), node.NetNS, bin, "-t", "filter").CombinedOutput()
		if err != nil {
			c.t.Fatalf("%s in %s: %v\n%s", bin, node.NetNS, err, out)
		}
		all.Write(out)
	}
	return all.String()
}
