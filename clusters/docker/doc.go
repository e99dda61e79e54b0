// Package docker makes sure a Docker engine answers on this machine, for kind
// clusters: it leaves an engine that already runs alone, and otherwise starts
// Debian's dockerd with what a VM without CAP_SYS_RESOURCE needs. Guard keeps
// a kind network's traffic on this machine.
package docker
