package runner

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// A cell that did not connect is evidence against the enforcer only if the
// round proves that nothing else stopped it. Every round therefore carries,
// next to the judged cells, liveness probes that the spec never lets a
// policy block:
//   - each pod reaches itself on each probed port (NP-SELF): its server
//     answers (these are the matrix's own self cells);
//   - each pod's node reaches it on each probed port (NP-NODE): the pod's
//     interface and the node's route to it work, both ways;
//   - each node reaches every other node's agent (policies never select
//     nodes): the path between nodes works, both ways.
// A denial of (s -> d, port) is proven when d answered itself on the port,
// d's node reached d on the port, s's node reached s on some port, and the
// two nodes reached each other. An allowed cell that did not connect needs
// the same proof to count as the enforcer's fault.

// livenessCells lists the liveness probes of a round over the given pods:
// node to pod on every probed port the pod serves, and node to node for the
// nodes that host them.
func livenessCells(pods []model.Pod, nodes []model.Node, ports []model.PortProtocol) []matrix.Cell {
	var cells []matrix.Cell
	hosting := map[string]bool{}
	for _, p := range pods {
		if p.Node == "" {
			continue // no proof is possible; its cells stay unproven
		}
		hosting[p.Node] = true
		probed := 0
		for _, pp := range ports {
			if p.Serves(pp) {
				cells = append(cells, nodeToPod(p, pp))
				probed++
			}
		}
		if probed == 0 && len(p.Ports) > 0 {
			// The pod is only a source in this step: one port it serves
			// proves it attached.
			cp := p.Ports[0]
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			cells = append(cells, nodeToPod(p, model.PortProtocol{Port: cp.Port, Protocol: proto}))
		}
	}
	for _, from := range nodes {
		for _, to := range nodes {
			ip := nodeAddress(to, pods)
			if from.Name == to.Name || !hosting[from.Name] || !hosting[to.Name] || ip == "" {
				continue
			}
			cells = append(cells, matrix.Cell{
				From:     matrix.NodeSource(from.Name),
				To:       matrix.Target{Pod: matrix.NodeSource(to.Name), IP: ip},
				Port:     matrix.NodeProbePort,
				Protocol: agent.TCP,
			})
		}
	}
	return cells
}

func nodeToPod(p model.Pod, pp model.PortProtocol) matrix.Cell {
	return matrix.Cell{
		From:     matrix.NodeSource(p.Node),
		To:       matrix.Target{Pod: p.Ref().String(), IP: p.IP},
		Port:     pp.Port,
		Protocol: string(pp.Protocol),
	}
}

// nodeAddress picks the node's address of the pods' family (IPv4 unless
// the pods are IPv6).
func nodeAddress(n model.Node, pods []model.Pod) string {
	wantV6 := false
	for _, p := range pods {
		if a, err := netip.ParseAddr(p.IP); err == nil {
			wantV6 = a.Is6() && !a.Is4In6()
			break
		}
	}
	for _, ip := range n.IPs {
		if a, err := netip.ParseAddr(ip); err == nil && (a.Is6() && !a.Is4In6()) == wantV6 {
			return ip
		}
	}
	return ""
}

// roundProof answers, for one round, whether a cell's path and server were
// proven up.
type roundProof struct {
	obs    matrix.Observed
	nodeOf map[string]string // pod -> node
	// attached: pods that their node reached on some port this round.
	attached map[string]bool
}

func newRoundProof(obs matrix.Observed, pods []model.Pod) roundProof {
	p := roundProof{obs: obs, nodeOf: map[string]string{}, attached: map[string]bool{}}
	for _, pod := range pods {
		p.nodeOf[pod.Ref().String()] = pod.Node
	}
	for k, r := range obs.Results {
		if node, ok := matrix.NodeOf(k.From); ok && r.Outcome == agent.Connected && p.nodeOf[k.To] == node {
			p.attached[k.To] = true
		}
	}
	return p
}

// missing returns what this round failed to prove about cell c's path and
// server, or "" when all of it was proven.
func (p roundProof) missing(c matrix.Cell) string {
	src, dst := c.From, c.To.Pod
	self := matrix.Key{From: dst, To: dst, Port: c.Port, Protocol: c.Protocol}
	if r := p.obs.Results[self]; r.Outcome != agent.Connected {
		return fmt.Sprintf("%s did not answer itself on %d/%s (%s)", dst, c.Port, c.Protocol, outcomeOf(p.obs, self))
	}
	dstNode, srcNode := p.nodeOf[dst], p.nodeOf[src]
	if dstNode == "" || srcNode == "" {
		return "a pod of the cell has no node to prove its path from"
	}
	fromNode := matrix.Key{From: matrix.NodeSource(dstNode), To: dst, Port: c.Port, Protocol: c.Protocol}
	if r := p.obs.Results[fromNode]; r.Outcome != agent.Connected {
		return fmt.Sprintf("its node %s did not reach %s on %d/%s (%s)", dstNode, dst, c.Port, c.Protocol, outcomeOf(p.obs, fromNode))
	}
	if !p.attached[src] {
		return fmt.Sprintf("node %s did not reach the source %s on any port", srcNode, src)
	}
	if srcNode != dstNode {
		link := matrix.Key{From: matrix.NodeSource(srcNode), To: matrix.NodeSource(dstNode), Port: matrix.NodeProbePort, Protocol: agent.TCP}
		if r := p.obs.Results[link]; r.Outcome != agent.Connected {
			return fmt.Sprintf("node %s did not reach node %s (%s)", srcNode, dstNode, outcomeOf(p.obs, link))
		}
	}
	return ""
}

func outcomeOf(obs matrix.Observed, k matrix.Key) string {
	r, ok := obs.Results[k]
	if !ok {
		return "not probed"
	}
	if r.Error != "" {
		return string(r.Outcome) + ": " + r.Error
	}
	return string(r.Outcome)
}
