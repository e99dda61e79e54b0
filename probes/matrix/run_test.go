package matrix_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
)

// pods is a small cluster: three pod namespaces on one switch, each
// serving ports 80 and 81 with its identity.
type pods struct {
	ns      map[string]string // pod -> netns
	targets []matrix.Target
	prober  matrix.CommandProber
}

func newPods(t *testing.T) pods {
	agenttest.RequireRoot(t)
	sw := agenttest.NewSwitch(t)
	p := pods{ns: map[string]string{}}
	for i, pod := range []string{"x/a", "x/b", "y/a"} {
		ns := agenttest.Namespace(t, "h3m")
		ip := fmt.Sprintf("10.33.0.%d", i+1)
		sw.Attach(t, ns, ip+"/24")
		agenttest.NoICMPRateLimit(t, ns)
		agenttest.Serve(t, probeBin, ns, pod, "80,81")
		p.ns[pod] = ns
		p.targets = append(p.targets, matrix.Target{Pod: pod, IP: ip})
	}
	p.prober = matrix.CommandProber{Command: func(source string) ([]string, error) {
		ns, ok := p.ns[source]
		if !ok {
			return nil, fmt.Errorf("no namespace for pod %s", source)
		}
		return []string{"ip", "netns", "exec", ns, probeBin, "batch"}, nil
	}}
	return p
}

func (p pods) sources() []string { return []string{"x/a", "x/b", "y/a"} }

// TestRunObservesEveryCell runs a full matrix (3 pods x 3 pods x 2 ports x
// 3 protocols) through real iptables rules in y/a's namespace and checks
// each cell's observed outcome. Clauses: DESIGN "Probes" (typed outcomes,
// one batch per source pod) and NP-SELF (self pairs are probed too).
func TestRunObservesEveryCell(t *testing.T) {
	p := newPods(t)
	// y/a rejects x/a on port 81 and drops x/b on port 81, every protocol.
	for _, proto := range []string{"tcp", "udp", "sctp"} {
		agenttest.IPTables(t, p.ns["y/a"], false, "-A", "INPUT", "-s", "10.33.0.1", "-p", proto, "--dport", "81", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited")
		agenttest.IPTables(t, p.ns["y/a"], false, "-A", "INPUT", "-s", "10.33.0.2", "-p", proto, "--dport", "81", "-j", "DROP")
	}
	ports := []matrix.PortProtocol{{80, "TCP"}, {81, "TCP"}, {80, "UDP"}, {81, "UDP"}, {80, "SCTP"}, {81, "SCTP"}}
	cells := matrix.AllPairs(p.sources(), p.targets, ports)
	start := time.Now()
	observed, err := matrix.Run(context.Background(), p.prober, cells, matrix.WithProbeTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(observed.Results) != len(cells) {
		t.Fatalf("%d results for %d cells", len(observed.Results), len(cells))
	}
	for _, c := range cells {
		want := agent.Connected
		if c.To.Pod == "y/a" && c.Port == 81 {
			switch c.From {
			case "x/a":
				want = agent.Rejected
			case "x/b":
				want = agent.Timeout
			}
		}
		r := observed.Results[c.Key()]
		if r.Outcome != want {
			t.Errorf("%s: outcome %q (%s), want %q", c.Key(), r.Outcome, r.Error, want)
		}
		if want == agent.Connected && r.Identity != c.To.Pod {
			t.Errorf("%s: identity %q, want %q", c.Key(), r.Identity, c.To.Pod)
		}
	}
	// Batches run in parallel: the whole matrix takes about one probe
	// timeout, not one per source.
	if elapsed > 3*time.Second {
		t.Errorf("matrix took %v; batches do not seem to run in parallel", elapsed)
	}
}

// TestRunWrongPeer: a target that answers with another identity (a stale
// IP now used by another pod) is wrong-peer, not connected.
func TestRunWrongPeer(t *testing.T) {
	p := newPods(t)
	stale := matrix.Target{Pod: "z/gone", IP: "10.33.0.2"} // x/b answers there
	cells := []matrix.Cell{{From: "x/a", To: stale, Port: 80, Protocol: "TCP"}, {From: "x/a", To: stale, Port: 80, Protocol: "UDP"}, {From: "x/a", To: stale, Port: 80, Protocol: "SCTP"}}
	observed, err := matrix.Run(context.Background(), p.prober, cells)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if r := observed.Results[c.Key()]; r.Outcome != agent.WrongPeer || r.Identity != "x/b" {
			t.Errorf("%s: outcome %q identity %q, want wrong-peer answered by x/b", c.Key(), r.Outcome, r.Identity)
		}
	}
}

// droppingProber loses the result of one probe, as a truncated exec would.
type droppingProber struct {
	inner matrix.Prober
	drop  string // probe To to drop
}

func (d droppingProber) ProbeBatch(ctx context.Context, source string, probes []agent.Probe) ([]agent.Result, error) {
	results, err := d.inner.ProbeBatch(ctx, source, probes)
	var kept []agent.Result
	for _, r := range results {
		if r.To != d.drop {
			kept = append(kept, r)
		}
	}
	return kept, err
}

// TestFailedBatchesAreErrorsNeverBlocked: a source whose batch cannot run,
// and a probe whose result went missing, are Error cells. Clause: DESIGN
// "Probes": error is never counted as blocked.
func TestFailedBatchesAreErrorsNeverBlocked(t *testing.T) {
	p := newPods(t)
	cells := []matrix.Cell{
		{From: "x/a", To: p.targets[1], Port: 80, Protocol: "TCP"},
		{From: "x/a", To: p.targets[2], Port: 80, Protocol: "TCP"},
		{From: "q/ghost", To: p.targets[1], Port: 80, Protocol: "UDP"}, // no namespace: the command fails
	}
	prober := droppingProber{inner: p.prober, drop: "10.33.0.3:80"}
	observed, err := matrix.Run(context.Background(), prober, cells)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cell      matrix.Cell
		want      agent.Outcome
		errorPart string
	}{
		{cells[0], agent.Connected, ""},
		{cells[1], agent.Error, "no result"},
		{cells[2], agent.Error, "no namespace for pod q/ghost"},
	}
	for _, tt := range tests {
		r := observed.Results[tt.cell.Key()]
		if r.Outcome != tt.want || !strings.Contains(r.Error, tt.errorPart) {
			t.Errorf("%s: outcome %q error %q, want %q with %q", tt.cell.Key(), r.Outcome, r.Error, tt.want, tt.errorPart)
		}
	}
	if errs := observed.Errors(); len(errs) != 2 {
		t.Errorf("Errors() = %v, want the two failed cells", errs)
	}
}

// TestRunRejectsBadCells: cells that cannot be probed as given are an
// error naming the cell, before anything runs.
func TestRunRejectsBadCells(t *testing.T) {
	a := matrix.Target{Pod: "x/a", IP: "10.0.0.1"}
	tests := []struct {
		name  string
		cells []matrix.Cell
		want  string
	}{
		{"duplicate", []matrix.Cell{{From: "x/b", To: a, Port: 80, Protocol: "TCP"}, {From: "x/b", To: a, Port: 80, Protocol: "tcp"}}, "listed twice"},
		{"protocol", []matrix.Cell{{From: "x/b", To: a, Port: 80, Protocol: "ICMP"}}, "not TCP, UDP or SCTP"},
		{"ip", []matrix.Cell{{From: "x/b", To: matrix.Target{Pod: "x/a", IP: "a.b"}, Port: 80, Protocol: "TCP"}}, "not an IP"},
		{"port", []matrix.Cell{{From: "x/b", To: a, Port: 0, Protocol: "TCP"}}, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := matrix.Run(context.Background(), matrix.CommandProber{}, tt.cells)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
