package netns

import (
	"context"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Every node runs an agent that the runner's liveness proof uses: it must
// reach each pod of its own node on every declared port and protocol, and
// the other nodes' agents on matrix.NodeProbePort, answering with their
// node source names. Clause: NP-NODE (the node's own traffic to its pods).
func TestNodeAgentsReachTheirPodsAndEachOther(t *testing.T) {
	c := newTestCluster(t)
	ctx := context.Background()
	if err := c.Deploy(ctx, model.DefaultTopology()); err != nil {
		t.Fatal(err)
	}
	topo, err := c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cells []matrix.Cell
	for _, p := range topo.Pods {
		for _, cp := range p.Ports {
			cells = append(cells, matrix.Cell{
				From: matrix.NodeSource(p.Node), To: matrix.Target{Pod: p.Ref().String(), IP: p.IP},
				Port: cp.Port, Protocol: string(cp.Protocol),
			})
		}
	}
	for _, from := range topo.Nodes {
		for _, to := range topo.Nodes {
			if from.Name != to.Name {
				cells = append(cells, matrix.Cell{
					From: matrix.NodeSource(from.Name), To: matrix.Target{Pod: matrix.NodeSource(to.Name), IP: to.IPs[0]},
					Port: matrix.NodeProbePort, Protocol: agent.TCP,
				})
			}
		}
	}
	obs, err := matrix.Run(ctx, c.Prober(), cells)
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Nodes) < 2 || len(cells) < 2*len(topo.Pods) {
		t.Fatalf("too few cells to prove anything: %d nodes, %d cells", len(topo.Nodes), len(cells))
	}
	for _, k := range obs.Keys() {
		if r := obs.Results[k]; r.Outcome != agent.Connected {
			t.Errorf("%s: %s %s", k, r.Outcome, r.Error)
		}
	}
}
