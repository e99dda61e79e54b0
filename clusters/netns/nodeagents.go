package netns

import (
	"context"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// startNodeAgents runs one agent in every node's namespace: the source of
// the runner's liveness probes (node to its pods, node to node). It serves
// matrix.NodeProbePort over TCP on the node's address, answering with the
// node's source name, so another node can prove the path between them.
func (c *Cluster) startNodeAgents(ctx context.Context) error {
	for _, n := range c.fabric.Nodes() {
		rt := &podRuntime{
			identity: matrix.NodeSource(n.Name),
			node:     n,
			ip:       n.IP,
			served:   []model.PortProtocol{{Port: matrix.NodeProbePort, Protocol: corev1.ProtocolTCP}},
			socket:   filepath.Join(c.runDir, "node-"+n.Name+".sock"),
		}
		if err := c.startAgent(rt, n.NetNS); err != nil {
			return fmt.Errorf("node agent on %s: %w", n.Name, err)
		}
		c.mu.Lock()
		c.nodeAgents[n.Name] = rt
		c.mu.Unlock()
		if err := waitAgentReady(ctx, rt); err != nil {
			return fmt.Errorf("node agent on %s: %w", n.Name, err)
		}
	}
	return nil
}
