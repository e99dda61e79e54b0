package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

const typedOutcomes = `DESIGN "Probes: typed outcomes"`

// Ports of the classifier's server namespace and what answers on each.
const (
	portServed           = 80 // probe serve
	portICMPHost         = 81 // REJECT icmp-host-unreachable
	portICMPAdmin        = 82 // REJECT icmp-admin-prohibited
	portICMPNet          = 83 // REJECT icmp-net-unreachable
	portICMPProto        = 84 // REJECT icmp-proto-unreachable
	portServerDrop       = 85 // DROP in the server's INPUT
	portNothing          = 90 // no listener, no rule
	portResets           = 91 // accepts, then resets
	portSilentClose      = 92 // accepts, then closes without an identity
	portICMPHostUnknown  = 93 // forged ICMP host unknown
	portICMPHostIsolated = 94 // forged ICMP host isolated
	portClientDrop       = 95 // DROP in the client's own OUTPUT
	portICMPFragNeeded   = 96 // forged ICMP fragmentation needed
)

// classifyNet is a client and a server namespace on one /30 and one IPv6
// /64, the server answering each port as listed above (over IPv6 only
// portICMPAdmin, with ICMPv6 admin-prohibited). The client has no default route and
// a SYN retry limit of 1, so its unanswered connects fail with ETIMEDOUT
// after about 3 s; its routes to prohibitedIP are "prohibit" (EACCES).
type classifyNet struct {
	client, server           string
	serverIP, serverIP6      netip.Addr
	broadcastIP              netip.Addr
	unroutedIP, prohibitedIP netip.Addr
}

func newClassifyNet(t *testing.T) classifyNet {
	agenttest.RequireRoot(t)
	n := classifyNet{
		client:       agenttest.Namespace(t, "h3cc"),
		server:       agenttest.Namespace(t, "h3cs"),
		serverIP:     netip.MustParseAddr("10.38.0.2"),
		serverIP6:    netip.MustParseAddr("fd38::2"),
		broadcastIP:  netip.MustParseAddr("10.38.0.3"),
		unroutedIP:   netip.MustParseAddr("10.39.0.9"),
		prohibitedIP: netip.MustParseAddr("10.40.0.9"),
	}
	agenttest.Link(t, n.client, n.server, "10.38.0.1/30", "10.38.0.2/30")
	agenttest.Link(t, n.client, n.server, "fd38::1/64", "fd38::2/64")
	agenttest.NoICMPRateLimit(t, n.server)
	agenttest.Run(t, "ip", "netns", "exec", n.client, "sysctl", "-q", "-w", "net.ipv4.tcp_syn_retries=1")
	agenttest.Run(t, "ip", "-n", n.client, "route", "add", "prohibit", "10.40.0.0/24")
	for _, proto := range []string{"tcp", "udp", "sctp"} {
		in := func(port int, target ...string) {
			agenttest.IPTables(t, n.server, false, append([]string{"-A", "INPUT", "-p", proto, "--dport", strconv.Itoa(port)}, target...)...)
		}
		in(portICMPHost, "-j", "REJECT", "--reject-with", "icmp-host-unreachable")
		in(portICMPAdmin, "-j", "REJECT", "--reject-with", "icmp-admin-prohibited")
		in(portICMPNet, "-j", "REJECT", "--reject-with", "icmp-net-unreachable")
		in(portICMPProto, "-j", "REJECT", "--reject-with", "icmp-proto-unreachable")
		in(portServerDrop, "-j", "DROP")
		agenttest.IPTables(t, n.server, true, "-A", "INPUT", "-p", proto, "--dport", strconv.Itoa(portICMPAdmin), "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited")
		agenttest.IPTables(t, n.client, false, "-A", "OUTPUT", "-p", proto, "--dport", strconv.Itoa(portClientDrop), "-j", "DROP")
	}
	agenttest.Serve(t, probeBin, n.server, "x/a", strconv.Itoa(portServed))
	serveTCPIn(t, n.server, n.to(portResets), resetOnAccept)
	serveTCPIn(t, n.server, n.to(portSilentClose), closeOnAccept)
	forgeICMPUnreachable(t, n.server, n.to(portICMPHostUnknown), 7, 0)
	forgeICMPUnreachable(t, n.server, n.to(portICMPHostIsolated), 8, 0)
	forgeICMPUnreachable(t, n.server, n.to(portICMPFragNeeded), 4, 1280)
	return n
}

func (n classifyNet) to(port int) netip.AddrPort { return netip.AddrPortFrom(n.serverIP, uint16(port)) }

func (n classifyNet) to6(port int) netip.AddrPort {
	return netip.AddrPortFrom(n.serverIP6, uint16(port))
}

// classifyRow produces one class of error and names the outcome it must
// get. produce runs on a thread in the client's namespace, after restrict.
type classifyRow struct {
	clause   string
	class    string // the error class and its outcome
	how      string // "real: ..." (the kernel or the agent made it) or "fake: ..." (the kernel cannot)
	timeout  time.Duration
	restrict func() error
	produce  func(ctx context.Context) error
	carries  error // what the produced error must carry (errors.Is); nil: no error at all
	want     agent.Outcome
}

// classifyRows covers every branch of the classifier with an error of its
// class, made by real sockets in real namespaces wherever Linux can make it.
func classifyRows(n classifyNet) []classifyRow {
	tcp := func(port int) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := agent.ConnectTCP(ctx, n.to(port))
			return err
		}
	}
	udp := func(port int) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := agent.ConnectUDP(ctx, n.to(port))
			return err
		}
	}
	unconnectedSendTo := func(to netip.AddrPort) func(context.Context) error {
		return func(context.Context) error {
			conn, err := net.ListenUDP("udp4", nil)
			if err != nil {
				return err
			}
			defer conn.Close()
			_, err = conn.WriteToUDPAddrPort([]byte("netpolcheck probe\n"), to)
			return err
		}
	}
	fake := func(err error) func(context.Context) error {
		return func(context.Context) error { return err }
	}
	udpWrite := func(errno unix.Errno) error {
		return fmt.Errorf("send: %w", &net.OpError{Op: "write", Net: "udp4",
			Addr: net.UDPAddrFromAddrPort(n.to(portServed)), Err: os.NewSyscallError("write", errno)})
	}
	return []classifyRow{
		{clause: typedOutcomes, class: "no error -> connected", how: "real: TCP to probe serve",
			produce: func(ctx context.Context) error {
				identity, err := agent.ConnectTCP(ctx, n.to(portServed))
				if err == nil && identity != "x/a" {
					return fmt.Errorf("answered by %q, want x/a", identity)
				}
				return err
			}, want: agent.Connected},

		{clause: typedOutcomes, class: "ECONNREFUSED -> refused", how: "real: TCP to a closed port (RST)",
			produce: tcp(portNothing), carries: unix.ECONNREFUSED, want: agent.Refused},
		{clause: typedOutcomes, class: "ECONNREFUSED -> refused", how: "real: UDP to a closed port (ICMP port unreachable)",
			produce: udp(portNothing), carries: unix.ECONNREFUSED, want: agent.Refused},
		{clause: typedOutcomes, class: "ENOPROTOOPT -> refused", how: "real: UDP through REJECT icmp-proto-unreachable",
			produce: udp(portICMPProto), carries: unix.ENOPROTOOPT, want: agent.Refused},
		{clause: typedOutcomes, class: "ECONNRESET -> refused", how: "real: TCP to a server that accepts and closes with SO_LINGER 0",
			produce: tcp(portResets), carries: unix.ECONNRESET, want: agent.Refused},

		{clause: typedOutcomes, class: "EHOSTUNREACH -> rejected", how: "real: UDP through REJECT icmp-host-unreachable",
			produce: udp(portICMPHost), carries: unix.EHOSTUNREACH, want: agent.Rejected},
		{clause: typedOutcomes, class: "EHOSTUNREACH -> rejected", how: "real: UDP through REJECT icmp-admin-prohibited",
			produce: udp(portICMPAdmin), carries: unix.EHOSTUNREACH, want: agent.Rejected},
		{clause: typedOutcomes, class: "EACCES from read (ICMPv6 admin-prohibited) -> rejected", how: "real: UDP over IPv6 through REJECT icmp6-adm-prohibited",
			produce: func(ctx context.Context) error {
				_, err := agent.ConnectUDP(ctx, n.to6(portICMPAdmin))
				return err
			}, carries: unix.EACCES, want: agent.Rejected},
		{clause: typedOutcomes, class: "EACCES from SO_ERROR (ICMPv6 admin-prohibited) -> rejected", how: "real: TCP over IPv6 through REJECT icmp6-adm-prohibited",
			produce: func(ctx context.Context) error {
				_, err := agent.ConnectTCP(ctx, n.to6(portICMPAdmin))
				return err
			}, carries: unix.EACCES, want: agent.Rejected},
		{clause: typedOutcomes, class: "ENETUNREACH -> rejected", how: "real: TCP connect to an address with no route",
			produce: func(ctx context.Context) error {
				_, err := agent.ConnectTCP(ctx, netip.AddrPortFrom(n.unroutedIP, 80))
				return err
			}, carries: unix.ENETUNREACH, want: agent.Rejected},
		{clause: typedOutcomes, class: "ENETUNREACH -> rejected", how: "real: UDP through REJECT icmp-net-unreachable",
			produce: udp(portICMPNet), carries: unix.ENETUNREACH, want: agent.Rejected},
		{clause: typedOutcomes, class: "EHOSTDOWN -> rejected", how: "real: UDP answered by a forged ICMP host unknown (type 3 code 7)",
			produce: udp(portICMPHostUnknown), carries: unix.EHOSTDOWN, want: agent.Rejected},
		{clause: typedOutcomes, class: "ENONET -> rejected", how: "real: UDP answered by a forged ICMP host isolated (type 3 code 8)",
			produce: udp(portICMPHostIsolated), carries: unix.ENONET, want: agent.Rejected},
		{clause: typedOutcomes, class: "ENETDOWN -> rejected", how: "fake: UDP write ENETDOWN (Linux turns a downed link into ENETUNREACH at route lookup)",
			produce: fake(udpWrite(unix.ENETDOWN)), carries: unix.ENETDOWN, want: agent.Rejected},
		{clause: typedOutcomes, class: "EPERM from write (local OUTPUT DROP) -> rejected", how: "real: connected UDP through the client's own OUTPUT DROP",
			produce: udp(portClientDrop), carries: unix.EPERM, want: agent.Rejected},
		{clause: typedOutcomes, class: "EPERM from sendto (local OUTPUT DROP) -> rejected", how: "real: unconnected UDP through the client's own OUTPUT DROP",
			produce: unconnectedSendTo(n.to(portClientDrop)), carries: unix.EPERM, want: agent.Rejected},
		{clause: typedOutcomes, class: "EPERM from sendmsg (local OUTPUT DROP) -> rejected", how: "real: raw SCTP INIT through the client's own OUTPUT DROP",
			produce: func(ctx context.Context) error {
				_, err := agent.ConnectRawSCTP(ctx, n.to(portClientDrop))
				return err
			}, carries: unix.EPERM, want: agent.Rejected},

		{clause: typedOutcomes, class: "deadline exceeded (poller) -> timeout", how: "real: TCP through the server's DROP",
			produce: tcp(portServerDrop), carries: os.ErrDeadlineExceeded, want: agent.Timeout},
		{clause: typedOutcomes, class: "deadline exceeded (context) -> timeout", how: "real: UDP through the server's DROP",
			produce: udp(portServerDrop), carries: context.DeadlineExceeded, want: agent.Timeout},
		{clause: typedOutcomes, class: "ETIMEDOUT (a net.Error timeout) -> timeout", how: "real: TCP through the server's DROP until the kernel gives up (tcp_syn_retries=1)",
			timeout: 8 * time.Second, produce: tcp(portServerDrop), carries: unix.ETIMEDOUT, want: agent.Timeout},
		{clause: typedOutcomes, class: "local OUTPUT DROP of TCP -> timeout", how: "real: TCP through the client's own OUTPUT DROP (the kernel retransmits the SYN silently: no EPERM)",
			produce: tcp(portClientDrop), carries: os.ErrDeadlineExceeded, want: agent.Timeout},

		{clause: typedOutcomes, class: "io.EOF -> wrong-peer", how: "real: TCP to a server that accepts and closes without an identity",
			produce: tcp(portSilentClose), carries: io.EOF, want: agent.WrongPeer},

		{clause: typedOutcomes, class: "context.Canceled -> error", how: "real: UDP through the server's DROP, cancelled after 100ms",
			timeout: 5 * time.Second,
			produce: func(ctx context.Context) error {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(100*time.Millisecond, cancel)
				_, err := agent.ConnectUDP(ctx, n.to(portServerDrop))
				return err
			}, carries: context.Canceled, want: agent.Error},
		{clause: typedOutcomes, class: "setup syscall socket (EPERM) -> error", how: "real: raw SCTP without CAP_NET_RAW",
			restrict: withoutCapability(unix.CAP_NET_RAW),
			produce: func(ctx context.Context) error {
				_, err := agent.ConnectRawSCTP(ctx, n.to(portServed))
				return err
			}, carries: unix.EPERM, want: agent.Error},
		{clause: typedOutcomes, class: "setup syscall bind (EACCES) -> error", how: "real: serving port 80 without CAP_NET_BIND_SERVICE",
			restrict: withoutCapability(unix.CAP_NET_BIND_SERVICE),
			produce: func(context.Context) error {
				s, err := agent.Listen("x/a", []int{80}, []string{"tcp"})
				if err == nil {
					s.Close()
				}
				return err
			}, carries: unix.EACCES, want: agent.Error},
		{clause: typedOutcomes, class: "setup syscall setsockopt (ENOPROTOOPT) -> error, not refused", how: "fake: IP_RECVERR refused, shaped as connectStream returns it",
			produce: fake(os.NewSyscallError("setsockopt", unix.ENOPROTOOPT)), carries: unix.ENOPROTOOPT, want: agent.Error},
		{clause: typedOutcomes, class: "setup syscall listen (EPERM) -> error", how: "fake: listen denied by a seccomp profile, shaped as net.Listen returns it",
			produce: fake(&net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("listen", unix.EPERM)}), carries: unix.EPERM, want: agent.Error},
		{clause: typedOutcomes, class: "EPERM from connect (the probe's own sandbox) -> error", how: "real: TCP under a seccomp filter denying connect with EPERM",
			restrict: withSeccompDenying(unix.SYS_CONNECT, unix.EPERM),
			produce:  tcp(portServed), carries: unix.EPERM, want: agent.Error},
		{clause: typedOutcomes, class: "EACCES from sendmsg (the probe's own fault) -> error", how: "real: raw SCTP INIT to the subnet broadcast (no SO_BROADCAST)",
			produce: func(ctx context.Context) error {
				_, err := agent.ConnectRawSCTP(ctx, netip.AddrPortFrom(n.broadcastIP, 80))
				return err
			}, carries: unix.EACCES, want: agent.Error},
		{clause: typedOutcomes, class: "EACCES from connect (a prohibit route, or an LSM: ambiguous) -> error", how: "real: TCP to a prohibit route",
			produce: func(ctx context.Context) error {
				_, err := agent.ConnectTCP(ctx, netip.AddrPortFrom(n.prohibitedIP, 80))
				return err
			}, carries: unix.EACCES, want: agent.Error},
		{clause: typedOutcomes, class: "EACCES from sendto (a prohibit route, or an LSM: ambiguous) -> error", how: "real: unconnected UDP to a prohibit route",
			produce: unconnectedSendTo(netip.AddrPortFrom(n.prohibitedIP, 80)), carries: unix.EACCES, want: agent.Error},
		{clause: typedOutcomes, class: "EPERM from no named syscall -> error", how: "fake: a bare errno, nothing says a filter returned it",
			produce: fake(fmt.Errorf("send: %w", unix.EPERM)), carries: unix.EPERM, want: agent.Error},
		{clause: typedOutcomes, class: "unknown errno (EMSGSIZE) -> error", how: "real: UDP answered by a forged ICMP fragmentation needed (type 3 code 4)",
			produce: udp(portICMPFragNeeded), carries: unix.EMSGSIZE, want: agent.Error},
	}
}

// TestClassifierMapsEachErrorClass feeds the classifier one error of every
// class it knows, each made for real where the kernel can make it, and
// checks the outcome. Any change to a branch of classify fails a row.
func TestClassifierMapsEachErrorClass(t *testing.T) {
	n := newClassifyNet(t)
	for _, row := range classifyRows(n) {
		t.Run(row.class+"/"+row.how, func(t *testing.T) {
			t.Parallel()
			timeout := row.timeout
			if timeout == 0 {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			err := onThread(t, n.client, row.restrict, func() error { return row.produce(ctx) })
			switch {
			case row.carries == nil && err != nil:
				t.Fatalf("[%s] %s: want no error, got %v", row.clause, row.how, err)
			case row.carries != nil && !errors.Is(err, row.carries):
				t.Fatalf("[%s] %s: error %v does not carry %v: the row does not produce its class", row.clause, row.how, err, row.carries)
			case !agent.ReachesClassify(err):
				t.Fatalf("[%s] %s: error %v was decided before the classifier", row.clause, row.how, err)
			}
			if got := agent.Classify(err); got != row.want {
				t.Errorf("[%s] %s: classify(%v) = %q, want %q", row.clause, row.class, err, got, row.want)
			}
		})
	}
}

// TestLocalOutputDropThroughProbeBinary runs `probe batch` in a namespace
// whose own OUTPUT chain drops the probes: UDP and SCTP see EPERM at once
// and are rejected early; TCP cannot see the drop and times out.
// Clause: DESIGN "Probes: typed outcomes".
func TestLocalOutputDropThroughProbeBinary(t *testing.T) {
	n := newClassifyNet(t)
	const timeout = 500 * time.Millisecond
	want := map[string]agent.Outcome{agent.TCP: agent.Timeout, agent.UDP: agent.Rejected, agent.SCTP: agent.Rejected}
	var probes []agent.Probe
	for proto := range want {
		probes = append(probes, agent.Probe{ID: proto, To: n.to(portClientDrop).String(), Protocol: proto, Timeout: timeout})
	}
	results, err := agenttest.Batch(context.Background(), probeBin, n.client, probes)
	if err != nil {
		t.Fatal(err)
	}
	for proto, outcome := range want {
		r := results[proto]
		if r.Outcome != outcome {
			t.Errorf("[%s] %s through the client's own OUTPUT DROP: outcome %q (%s), want %q", typedOutcomes, proto, r.Outcome, r.Error, outcome)
		}
		if outcome == agent.Rejected && r.Latency >= timeout {
			t.Errorf("[%s] %s: rejected after %v, the whole timeout: the EPERM must end the probe", typedOutcomes, proto, r.Latency)
		}
	}
}
