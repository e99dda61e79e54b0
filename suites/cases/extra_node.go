package cases

import (
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// withHostNetworkPod adds y/host, a hostNetwork pod on node-1 serving the
// given ports: it shares node-1's network namespace and address, so its
// probes are traffic from node-1 itself.
func withHostNetworkPod(t *model.Topology, serve ...model.PortProtocol) *model.Topology {
	p := model.Pod{
		Namespace: "y", Name: "host", Labels: map[string]string{"pod": "host"},
		Node: "node-1", IP: "172.18.0.2", HostNetwork: true,
	}
	for _, pp := range serve {
		p.Ports = append(p.Ports, containerPort(model.DefaultPortName(pp), pp.Port, pp.Protocol))
	}
	t.Pods = append(t.Pods, p)
	return t
}

// extraNode covers traffic from a node: the node that hosts a pod always
// reaches it (NP-NODE), another node is an ordinary remote, and a
// hostNetwork pod is never isolated by a policy that selects "all pods".
func extraNode() []scenario {
	t80 := probes(tcp80)
	return []scenario{
		with(extraCase("the node that hosts an isolated pod still reaches it, another node does not",
			model.ClauseNode, model.ClauseHostNet, model.ClauseIso, model.ClauseSelf),
			withHostNetworkPod(pods(t80, "x/a", "x/b"), tcp80),
			[]Step{{Name: "deny all ingress in x and in y", Actions: create(
				denyIngress("x", "deny-ingress", all()),
				denyIngress("y", "deny-ingress", all())), Probes: t80}},
			// Rows: y/host is node-1 (hosting x/a, not x/b). Column y/host:
			// a hostNetwork pod is no target, so y's deny-all leaves it open.
			[]string{`
80/TCP x/a x/b y/host
x/a     .   X   .
x/b     X   .   .
y/host  .   X   .`}),
	}
}
