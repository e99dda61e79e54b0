// Package netns is the embedded cluster provider: nodes and pods are network
// namespaces on this host (plumbed by package fabric), the API is a client-go
// fake clientset the provider fills, and the reference enforcer runs once per
// node namespace against it. It needs root.
//
// Probe agents: every pod namespace runs the current executable re-exec'd as
// the probe agent (an init function in this package takes over a process
// started with NETPOLCHECK_NETNS_AGENT set), so any binary that imports this
// package, a `go test` binary or the netpolcheck CLI, carries its own agent.
// The agent serves the pod's ports and runs `probe batch` requests inside the
// pod namespace; the harness reaches it over a unix socket under
// /run/netpolcheck/<run prefix>/, never over the pod network.
package netns
