// Package fabric builds the network plumbing of the netns cluster: node and pod
// network namespaces joined by routed veths (ptp style, like kindnet) and a
// bridge hidden in its own switch namespace, all named with a caller's prefix.
package fabric
