package fabric

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test creates network namespaces: run as root")
	}
}

// newTestFabric builds a fabric and guarantees its removal, also on failure.
func newTestFabric(t *testing.T, prefix string, nodes int, opts ...Option) *Fabric {
	t.Helper()
	requireRoot(t)
	ctx := context.Background()
	if err := CleanupPrefix(ctx, prefix); err != nil {
		t.Fatalf("clean leftovers: %v", err)
	}
	f, err := New(ctx, prefix, nodes, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Destroy(context.Background()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	return f
}

// serveTCP listens inside the pod namespace and answers each connection with
// the given identity.
func serveTCP(t *testing.T, pod *PodNS, port int, identity string) {
	t.Helper()
	serveTCPOn(t, pod, pod.IP, port, identity)
}

func serveTCPOn(t *testing.T, pod *PodNS, ip netip.Addr, port int, identity string) {
	t.Helper()
	var ln net.Listener
	err := Do(pod.NetNS, func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", pod.NetNS, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, identity)
			c.Close()
		}
	}()
}

// dialTCP connects from inside netnsName and returns what the server said.
func dialTCP(netnsName string, to netip.AddrPort) (string, error) {
	var reply string
	err := Do(netnsName, func() error {
		c, err := net.DialTimeout("tcp", to.String(), 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(c)
		reply = string(b)
		return err
	})
	return reply, err
}

func TestPodsReachEachOtherWithinAndAcrossNodes(t *testing.T) {
	f := newTestFabric(t, "h4-ft1-", 2)
	ctx := context.Background()
	a, err := f.AddPod(ctx, 0, "x/a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.AddPod(ctx, 0, "x/b")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.AddPod(ctx, 1, "y/c", WithPodIP(netip.MustParseAddr("10.244.2.77")))
	if err != nil {
		t.Fatal(err)
	}
	if c.IP.String() != "10.244.2.77" {
		t.Fatalf("WithPodIP ignored: got %s", c.IP)
	}
	for _, p := range []*PodNS{a, b, c} {
		serveTCP(t, p, 8080, p.Name)
	}
	node0, _ := f.Node(0)
	cases := []struct {
		name   string
		fromNS string
		to     *PodNS
	}{
		{"same node pod to pod", a.NetNS, b},
		{"cross node pod to pod", a.NetNS, c},
		{"cross node reverse", c.NetNS, b},
		{"pod to itself", a.NetNS, a},
		{"node to its own pod", node0.NetNS, a},
		{"node to a remote pod", node0.NetNS, c},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dialTCP(tc.fromNS, netip.AddrPortFrom(tc.to.IP, 8080))
			if err != nil {
				t.Fatalf("dial %s from %s: %v", tc.to.IP, tc.fromNS, err)
			}
			if got != tc.to.Name {
				t.Fatalf("reached %q, want %q", got, tc.to.Name)
			}
		})
	}
	// The exec path: a command run through Command sees the pod's interface.
	out, err := Command(ctx, c.NetNS, "ip", "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr in %s: %v\n%s", c.NetNS, err, out)
	}
	if !strings.Contains(string(out), c.IP.String()+"/32") {
		t.Fatalf("eth0 in %s does not hold %s/32:\n%s", c.NetNS, c.IP, out)
	}
}

func TestNamesAndAddressesFollowThePlan(t *testing.T) {
	f := newTestFabric(t, "h4-ft2-", 3)
	ctx := context.Background()
	for i, n := range f.Nodes() {
		if n.Name != fmt.Sprintf("node-%d", i+1) || n.PodCIDR.String() != fmt.Sprintf("10.244.%d.0/24", i+1) {
			t.Errorf("node %d: got %s %s", i, n.Name, n.PodCIDR)
		}
		if !strings.HasPrefix(n.NetNS, "h4-ft2-") {
			t.Errorf("node netns %q lacks the prefix", n.NetNS)
		}
	}
	// Rejections must be answered every time: ICMP rate limits are lifted.
	node3, _ := f.Node(2)
	err := Do(node3.NetNS, func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/icmp_ratelimit")
		if err == nil && strings.TrimSpace(string(b)) != "0" {
			err = fmt.Errorf("icmp_ratelimit = %s, want 0", b)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.AddPod(ctx, 2, "z/with a strange/name")
	if err != nil {
		t.Fatal(err)
	}
	if p.IP.String() != "10.244.3.2" {
		t.Errorf("first pod IP on node-3 = %s, want 10.244.3.2", p.IP)
	}
	if _, err := f.AddPod(ctx, 2, "dup", WithPodIP(p.IP)); err == nil {
		t.Error("a second pod got an IP already in use")
	}
	if _, err := f.AddPod(ctx, 0, "outside", WithPodIP(netip.MustParseAddr("10.244.9.9"))); err == nil {
		t.Error("a pod got an IP outside its node's CIDR")
	}
	if _, err := New(ctx, "BAD PREFIX", 1); err == nil {
		t.Error("New accepted an invalid prefix")
	}
	// Nothing of ours is visible in the host namespace: only netns files.
	found, err := ListPrefix("h4-ft2-")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range found {
		if strings.HasPrefix(name, "link ") {
			t.Errorf("host namespace shows our link: %s", name)
		}
	}
	if err := f.DeletePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(NetNSPath(p.NetNS)); !os.IsNotExist(err) {
		t.Errorf("pod namespace %s still exists after DeletePod", p.NetNS)
	}
}

func TestCleanupPrefixRemovesLeftoversOfAKilledRun(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	prefix := "h4-ft3-"
	f, err := New(ctx, prefix, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { CleanupPrefix(context.Background(), prefix) })
	if _, err := f.AddPod(ctx, 1, "x/a"); err != nil {
		t.Fatal(err)
	}
	// Forget the Fabric value, as a killed process would, and clean by name.
	if err := CleanupPrefix(ctx, "h4-ft3"); err != nil {
		t.Fatal(err)
	}
	found, err := ListPrefix(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 0 {
		t.Fatalf("left behind after CleanupPrefix: %v", found)
	}
	listed, err := runIPNetnsList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(listed, prefix) {
		t.Fatalf("ip netns list still shows %s:\n%s", prefix, listed)
	}
}

func runIPNetnsList(ctx context.Context) (string, error) {
	out, err := execIP(ctx, "netns", "list")
	return out, err
}

func execIP(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func TestDualStackPodsReachEachOtherOverIPv6(t *testing.T) {
	f := newTestFabric(t, "h4-ft4-", 2, WithIPv6())
	ctx := context.Background()
	a, err := f.AddPod(ctx, 0, "x/a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.AddPod(ctx, 0, "x/b")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.AddPod(ctx, 1, "y/c")
	if err != nil {
		t.Fatal(err)
	}
	if c.IPv6.String() != "fd00:10:244:2::2" {
		t.Fatalf("y/c IPv6 = %s, want fd00:10:244:2::2", c.IPv6)
	}
	for _, p := range []*PodNS{a, b, c} {
		serveTCPOn(t, p, p.IPv6, 8080, p.Name)
		serveTCP(t, p, 8080, p.Name)
	}
	node0, _ := f.Node(0)
	for _, tc := range []struct {
		fromNS string
		to     *PodNS
	}{{a.NetNS, b}, {a.NetNS, c}, {c.NetNS, b}, {node0.NetNS, a}, {node0.NetNS, c}} {
		for _, ip := range []netip.Addr{tc.to.IPv6, tc.to.IP} {
			got, err := dialTCP(tc.fromNS, netip.AddrPortFrom(ip, 8080))
			if err != nil || got != tc.to.Name {
				t.Errorf("%s -> %s: got %q, %v", tc.fromNS, ip, got, err)
			}
		}
	}
}
