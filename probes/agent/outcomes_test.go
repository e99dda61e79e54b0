package agent_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

// Server ports and what the server namespace's INPUT chain does to them.
const (
	portOpen        = 80 // served, no rule
	portAdmin       = 81 // REJECT with admin-prohibited
	portDrop        = 82 // DROP
	portHostUnreach = 83 // REJECT with host (IPv6: address) unreachable
	portClosed      = 90 // not served, no rule
)

// outcomeNet is client <-> server over IPv4 and IPv6, plus an empty
// namespace (no probe server, so no raw SCTP socket) reachable from the client.
type outcomeNet struct {
	client, server, empty string
	serverIPs             map[bool]string // by isIPv6
	emptyIP               string
}

func newOutcomeNet(t *testing.T) outcomeNet {
	agenttest.RequireRoot(t)
	n := outcomeNet{
		client:    agenttest.Namespace(t, "h3ac"),
		server:    agenttest.Namespace(t, "h3as"),
		empty:     agenttest.Namespace(t, "h3ae"),
		serverIPs: map[bool]string{false: "10.31.0.2", true: "fd31::2"},
		emptyIP:   "10.31.1.2",
	}
	agenttest.Link(t, n.client, n.server, "10.31.0.1/30", "10.31.0.2/30")
	agenttest.Link(t, n.client, n.server, "fd31::1/64", "fd31::2/64")
	agenttest.Link(t, n.client, n.empty, "10.31.1.1/30", "10.31.1.2/30")
	agenttest.NoICMPRateLimit(t, n.server)
	for _, proto := range []string{"tcp", "udp", "sctp"} {
		agenttest.IPTables(t, n.server, false, "-A", "INPUT", "-p", proto, "--dport", strconv.Itoa(portAdmin), "-j", "REJECT", "--reject-with", "icmp-admin-prohibited")
		agenttest.IPTables(t, n.server, false, "-A", "INPUT", "-p", proto, "--dport", strconv.Itoa(portDrop), "-j", "DROP")
		agenttest.IPTables(t, n.server, false, "-A", "INPUT", "-p", proto, "--dport", strconv.Itoa(portHostUnreach), "-j", "REJECT", "--reject-with", "icmp-host-unreachable")
		agenttest.IPTables(t, n.server, true, "-A", "INPUT", "-p", proto, "--dport", strconv.Itoa(portAdmin), "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited")
		agenttest.IPTables(t, n.server, true, "-A", "INPUT", "-p", proto, "--dport", strconv.Itoa(portDrop), "-j", "DROP")
		agenttest.IPTables(t, n.server, true, "-A", "INPUT", "-p", proto, "--dport", strconv.Itoa(portHostUnreach), "-j", "REJECT", "--reject-with", "icmp6-addr-unreachable")
	}
	agenttest.Serve(t, probeBin, n.server, "x/a", "80,81,82,83")
	return n
}

// TestOutcomesWithRealPackets sends real probes from one namespace to a
// `probe serve` in another through iptables rules, for each outcome,
// protocol and address family. Clause: DESIGN "Probes": typed outcomes.
func TestOutcomesWithRealPackets(t *testing.T) {
	n := newOutcomeNet(t)
	const timeout = 500 * time.Millisecond
	type outcomeCase struct {
		clause   string
		name     string
		port     int
		ipv6     bool
		target   string // overrides the server address
		expect   string
		want     agent.Outcome
		identity string
	}
	var cases []outcomeCase
	for _, v6 := range []bool{false, true} {
		cases = append(cases,
			outcomeCase{clause: "connected: the intended peer answered", name: "connected", port: portOpen, ipv6: v6, expect: "x/a", want: agent.Connected, identity: "x/a"},
			outcomeCase{clause: "connected without --expect: any identity", name: "connected-any", port: portOpen, ipv6: v6, want: agent.Connected, identity: "x/a"},
			outcomeCase{clause: "wrong-peer: another identity answered", name: "wrong-peer", port: portOpen, ipv6: v6, expect: "x/b", want: agent.WrongPeer, identity: "x/a"},
			outcomeCase{clause: "refused: nothing listens (RST, ICMP port unreachable, SCTP ABORT)", name: "refused", port: portClosed, ipv6: v6, want: agent.Refused},
			outcomeCase{clause: "rejected: ICMP admin-prohibited", name: "rejected-admin", port: portAdmin, ipv6: v6, want: agent.Rejected},
			outcomeCase{clause: "rejected: ICMP host/address unreachable", name: "rejected-unreachable", port: portHostUnreach, ipv6: v6, want: agent.Rejected},
			outcomeCase{clause: "timeout: dropped", name: "timeout", port: portDrop, ipv6: v6, want: agent.Timeout},
		)
	}
	cases = append(cases,
		outcomeCase{clause: "refused: no probe server at all (SCTP: ICMP protocol unreachable)", name: "refused-no-server", port: portOpen, target: n.emptyIP, want: agent.Refused},
		outcomeCase{clause: "error: the probe cannot run", name: "error-bad-address", target: "not-an-ip", port: portOpen, want: agent.Error},
	)

	var probes []agent.Probe
	type planned struct {
		outcomeCase
		protocol string
	}
	byID := map[string]planned{}
	for _, c := range cases {
		for _, proto := range []string{agent.TCP, agent.UDP, agent.SCTP} {
			addr := n.serverIPs[c.ipv6]
			if c.target != "" {
				addr = c.target
			}
			id := fmt.Sprintf("%s/%s/v6=%v", proto, c.name, c.ipv6)
			to := net.JoinHostPort(addr, strconv.Itoa(c.port))
			probes = append(probes, agent.Probe{ID: id, To: to, Protocol: strings.ToLower(proto), Timeout: timeout, Expect: c.expect})
			byID[id] = planned{c, proto}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results, err := agenttest.Batch(ctx, probeBin, n.client, probes)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probes {
		c := byID[p.ID]
		t.Run(p.ID, func(t *testing.T) {
			r, ok := results[p.ID]
			if !ok {
				t.Fatalf("[%s] no result for %s", c.clause, p.ID)
			}
			if r.Outcome != c.want {
				t.Fatalf("[%s] %s to %s: outcome %q (error %q), want %q", c.clause, c.protocol, p.To, r.Outcome, r.Error, c.want)
			}
			if r.Identity != c.identity {
				t.Errorf("[%s] identity %q, want %q", c.clause, r.Identity, c.identity)
			}
			if r.Protocol != c.protocol {
				t.Errorf("result protocol %q, want %q", r.Protocol, c.protocol)
			}
			// Only timeouts may take the whole timeout: ICMP errors and
			// resets must end a probe early.
			if c.want != agent.Timeout && r.Latency >= timeout {
				t.Errorf("[%s] took %v, the whole timeout", c.clause, r.Latency)
			}
			if c.want == agent.Timeout && r.Latency < timeout {
				t.Errorf("[%s] timed out after %v, before the %v timeout", c.clause, r.Latency, timeout)
			}
		})
	}
}

// TestRawSCTPWithoutNetRawIsError checks that a probe that cannot open its
// raw socket is an Error that names the capability, never a blocked cell.
// Clause: DESIGN "Probes": error is never counted as blocked.
func TestRawSCTPWithoutNetRawIsError(t *testing.T) {
	n := newOutcomeNet(t)
	probes := []agent.Probe{{ID: "sctp", To: net.JoinHostPort(n.serverIPs[false], "80"), Protocol: "SCTP", Timeout: time.Second}}
	results, err := agenttest.Batch(context.Background(), probeBin, n.client, probes, "setpriv", "--bounding-set", "-net_raw")
	if err != nil {
		t.Fatal(err)
	}
	r := results["sctp"]
	if r.Outcome != agent.Error || !strings.Contains(r.Error, "CAP_NET_RAW") {
		t.Fatalf("without CAP_NET_RAW: outcome %q, error %q; want error naming CAP_NET_RAW", r.Outcome, r.Error)
	}
}
