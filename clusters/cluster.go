package clusters

import "github.com/netpolcheck/netpolcheck/clusters/provider"

// Cluster is a running cluster the runner drives (see provider.Cluster).
type Cluster = provider.Cluster

// Enforcer names accepted by InstallEnforcer.
const (
	// EnforcerReference is netpolcheck's own iptables enforcer.
	EnforcerReference = provider.EnforcerReference
	// EnforcerNone runs without any enforcer: every denial must fail.
	EnforcerNone = provider.EnforcerNone
)
