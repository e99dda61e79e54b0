package matrix

import "strings"

// A node can be a probe source too. The runner proves that the path to a
// pod is up by probing it from the node that hosts it (traffic the spec
// always allows, NP-NODE), and that two nodes reach each other by probing
// one node's agent from the other. Providers run an agent in each node's
// network namespace (hostNetwork) that serves NodeProbePort over TCP and
// answers with NodeSource(name) as its identity.

// nodeSourcePrefix marks a node source. A pod source is "namespace/pod"; a
// colon never appears in a Kubernetes name, so the two cannot collide.
const nodeSourcePrefix = "node:"

// NodeProbePort is the TCP port every node agent serves on the node's own
// address. NetworkPolicy never applies to traffic between nodes, so a
// connection between two node agents proves the path between the nodes.
const NodeProbePort = 10999

// NodeSource names node as a probe source (and a node agent's identity):
// "node:<name>".
func NodeSource(node string) string { return nodeSourcePrefix + node }

// NodeOf returns the node a source names, and false for a pod source.
func NodeOf(source string) (string, bool) {
	return strings.CutPrefix(source, nodeSourcePrefix)
}
