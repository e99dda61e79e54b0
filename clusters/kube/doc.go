// Package kube is a cluster behind a real Kubernetes API server, the part
// the kind and existing providers share: every topology pod becomes a pod of
// the probe image pinned to its node, every node gets a hostNetwork node
// agent (the runner's liveness probes start there), probes run through the
// API with exec (never over the pod network, so no policy can cut the
// harness off), and the reference enforcer is installed from its embedded
// manifests. The topology's node names (node-1, node-2, ...) map onto the
// cluster's worker nodes in name order.
package kube
