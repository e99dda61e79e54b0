// Package kind is the kind cluster provider, built on the sigs.k8s.io/kind
// library (no kind binary): it makes sure a Docker engine answers, builds or
// reuses the offline node image, guards the machine's edge before any node
// starts, creates one control-plane node and N workers with kind's default
// CNI (kindnet, which enforces NetworkPolicy itself) disabled, configures a
// CNI that does not enforce (ptp and host-local, one pod CIDR per node,
// routes to the other nodes' CIDRs), loads the probe and enforcer images, and
// hands the rest to package kube. Destroy deletes the cluster and the guard.
package kind
