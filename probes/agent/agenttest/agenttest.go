package agenttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// RequireRoot fails the test (never skips it) when not running as root.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatal("real-packet tests need network namespaces and iptables: run as root")
	}
}

// BuildProbe builds cmd/probe into dir and returns the binary's path.
func BuildProbe(dir string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the module root")
	}
	moduleRoot := filepath.Join(filepath.Dir(file), "..", "..", "..")
	bin := filepath.Join(dir, "probe")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/probe")
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/probe: %w\n%s", err, out)
	}
	return bin, nil
}

var nameCounter atomic.Int32

// UniqueName returns prefix-PID-N, unique among parallel test processes.
// Keep prefix short: link names are limited to 15 bytes.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s%d-%d", prefix, os.Getpid()%100000, nameCounter.Add(1))
}

// Run runs a command and returns its combined output, failing tb on error.
func Run(tb testing.TB, argv ...string) string {
	tb.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// Namespace creates a network namespace named by prefix (see UniqueName)
// with loopback up, deleted in Cleanup.
func Namespace(tb testing.TB, prefix string) string {
	tb.Helper()
	name := UniqueName(prefix)
	Run(tb, "ip", "netns", "add", name)
	tb.Cleanup(func() {
		// Deleting the namespace deletes its links, routes and iptables.
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			tb.Errorf("deleting netns %s: %v\n%s", name, err, out)
		}
	})
	Run(tb, "ip", "-n", name, "link", "set", "lo", "up")
	// Without duplicate address detection, IPv6 addresses (link-local ones
	// too, which neighbour discovery needs) work as soon as a link is up.
	Run(tb, "ip", "netns", "exec", name, "sysctl", "-q", "-w",
		"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	return name
}

// NoICMPRateLimit lifts the kernel's ICMP error rate limits in ns. Linux
// sends at most a burst of about 6 destination-unreachable errors per
// peer, then one per second (net.ipv4.icmp_ratelimit, icmp_ratemask;
// net.ipv6.icmp.ratelimit), so a batch of probes through a REJECT rule would
// see most of them time out. A namespace that REJECTs probes (a node whose
// enforcer REJECTs) needs this for REJECT to stay distinguishable from DROP.
func NoICMPRateLimit(tb testing.TB, ns string) {
	tb.Helper()
	Run(tb, "ip", "netns", "exec", ns, "sysctl", "-q", "-w",
		"net.ipv4.icmp_ratemask=0", "net.ipv6.icmp.ratelimit=0",
		"net.ipv4.icmp_msgs_per_sec=100000", "net.ipv4.icmp_msgs_burst=100000")
}

// Link joins namespaces a and b with a veth pair and gives them addrA and
// addrB (CIDR, e.g. 10.0.0.1/30; IPv6 works too).
func Link(tb testing.TB, a, b, addrA, addrB string) {
	tb.Helper()
	ifA, ifB := UniqueName("h3v"), UniqueName("h3v")
	Run(tb, "ip", "link", "add", ifA, "netns", a, "type", "veth", "peer", "name", ifB, "netns", b)
	for _, side := range []struct{ ns, dev, addr string }{{a, ifA, addrA}, {b, ifB, addrB}} {
		args := []string{"ip", "-n", side.ns, "addr", "add", side.addr, "dev", side.dev}
		if strings.Contains(side.addr, ":") {
			args = append(args, "nodad")
		}
		Run(tb, args...)
		Run(tb, "ip", "-n", side.ns, "link", "set", side.dev, "up")
	}
	// Permanent neighbour entries: the tests are about probes, not about
	// neighbour discovery, whose first solicitation can be lost while a
	// fresh link still joins its multicast groups.
	macA, macB := linkMAC(tb, a, ifA), linkMAC(tb, b, ifB)
	Run(tb, "ip", "-n", a, "neigh", "replace", addrOnly(addrB), "lladdr", macB, "dev", ifA, "nud", "permanent")
	Run(tb, "ip", "-n", b, "neigh", "replace", addrOnly(addrA), "lladdr", macA, "dev", ifB, "nud", "permanent")
}

func linkMAC(tb testing.TB, ns, dev string) string {
	tb.Helper()
	var links []struct {
		Address string `json:"address"`
	}
	out := Run(tb, "ip", "-n", ns, "-j", "link", "show", "dev", dev)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		tb.Fatalf("reading the MAC of %s in %s: %v: %s", dev, ns, err, out)
	}
	return links[0].Address
}

func addrOnly(cidr string) string {
	addr, _, _ := strings.Cut(cidr, "/")
	return addr
}

// IPTables runs iptables (or ip6tables when v6) in namespace ns.
func IPTables(tb testing.TB, ns string, v6 bool, args ...string) {
	tb.Helper()
	cmd := "iptables"
	if v6 {
		cmd = "ip6tables"
	}
	Run(tb, append([]string{"ip", "netns", "exec", ns, cmd, "-w"}, args...)...)
}

// Serve runs `probe serve` in ns, with extraArgs after its own flags, and
// waits for its ready line. Cleanup
// sends SIGTERM and reports an unclean exit as a test error.
func Serve(tb testing.TB, probeBin, ns, identity string, ports string, extraArgs ...string) {
	tb.Helper()
	args := []string{"netns", "exec", ns, probeBin, "serve", "--identity", identity, "--ports", ports, "--protocols", "tcp,udp,sctp"}
	args = append(args, extraArgs...)
	cmd := exec.Command("ip", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting probe serve in %s: %v", ns, err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("probe serve in %s did not stop cleanly on SIGTERM: %v\n%s", ns, err, stderr.String())
			}
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			tb.Errorf("probe serve in %s ignored SIGTERM for 5s", ns)
		}
	})
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "ready ") {
			tb.Fatalf("probe serve in %s: no ready line (got %q): %s", ns, line, stderr.String())
		}
	case <-time.After(10 * time.Second):
		tb.Fatalf("probe serve in %s: not ready after 10s: %s", ns, stderr.String())
	}
}

// Batch runs `probe batch` in ns with probes and returns its Results keyed
// by probe ID.
func Batch(ctx context.Context, probeBin, ns string, probes []agent.Probe, extraArgs ...string) (map[string]agent.Result, error) {
	input, err := json.Marshal(probes)
	if err != nil {
		return nil, err
	}
	args := append([]string{"netns", "exec", ns}, extraArgs...)
	args = append(args, probeBin, "batch")
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("probe batch in %s: %w: %s", ns, err, stderr.String())
	}
	results := map[string]agent.Result{}
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var r agent.Result
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("probe batch output: %w", err)
		}
		results[r.ID] = r
	}
	return results, nil
}

// RuleCounter returns the packet count of the iptables rule in ns whose
// comment is comment (add rules with -m comment --comment NAME).
func RuleCounter(tb testing.TB, ns, comment string) int {
	tb.Helper()
	out := Run(tb, "ip", "netns", "exec", ns, "iptables-save", "-c", "-t", "filter")
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `--comment `+comment+` `) && !strings.HasSuffix(line, `--comment `+comment) &&
			!strings.Contains(line, `--comment "`+comment+`"`) {
			continue
		}
		var pkts, bytes int
		if _, err := fmt.Sscanf(line, "[%d:%d]", &pkts, &bytes); err != nil {
			tb.Fatalf("reading counter of %q in %s: %v: %s", comment, ns, err, line)
		}
		return pkts
	}
	tb.Fatalf("no iptables rule with comment %q in %s:\n%s", comment, ns, out)
	return 0
}

// Switch is a bridge in a namespace of its own that pod namespaces attach
// to, one veth each, all in one subnet, like pods on one node.
type Switch struct {
	ns, bridge string
	members    []switchMember
}

type switchMember struct{ ns, dev, addr, mac string }

// NewSwitch creates the switch namespace and its bridge.
func NewSwitch(tb testing.TB) *Switch {
	tb.Helper()
	s := &Switch{ns: Namespace(tb, "h3sw"), bridge: "br0"}
	Run(tb, "ip", "-n", s.ns, "link", "add", s.bridge, "type", "bridge")
	Run(tb, "ip", "-n", s.ns, "link", "set", s.bridge, "up")
	return s
}

// Attach connects ns to the switch with address cidr and permanent
// neighbour entries between it and every earlier member.
func (s *Switch) Attach(tb testing.TB, ns, cidr string) {
	tb.Helper()
	inside, outside := UniqueName("h3p"), UniqueName("h3b")
	Run(tb, "ip", "link", "add", inside, "netns", ns, "type", "veth", "peer", "name", outside, "netns", s.ns)
	Run(tb, "ip", "-n", s.ns, "link", "set", outside, "master", s.bridge, "up")
	Run(tb, "ip", "-n", ns, "addr", "add", cidr, "dev", inside)
	Run(tb, "ip", "-n", ns, "link", "set", inside, "up")
	m := switchMember{ns: ns, dev: inside, addr: addrOnly(cidr), mac: linkMAC(tb, ns, inside)}
	for _, other := range s.members {
		Run(tb, "ip", "-n", ns, "neigh", "replace", other.addr, "lladdr", other.mac, "dev", m.dev, "nud", "permanent")
		Run(tb, "ip", "-n", other.ns, "neigh", "replace", m.addr, "lladdr", m.mac, "dev", other.dev, "nud", "permanent")
	}
	s.members = append(s.members, m)
}

// RunWithProbe is the body of a TestMain whose tests run the real probe
// binary: it builds cmd/probe once into a temporary directory, stores its path
// in *bin, runs the tests and removes the directory. It returns the exit code.
func RunWithProbe(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "probe-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = BuildProbe(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
