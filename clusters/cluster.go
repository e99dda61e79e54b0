package clusters

import (
	"strings"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// Cluster is a running cluster the runner drives (see provider.Cluster).
type Cluster = provider.Cluster

// Enforcer names accepted by InstallEnforcer.
const (
	// EnforcerReference is netpolcheck's own iptables enforcer.
	EnforcerReference = provider.EnforcerReference
	// EnforcerNone runs without any enforcer: every denial must fail.
	EnforcerNone = provider.EnforcerNone
	// EnforcerManifests is a user's plugin, applied from the directory given
	// WithEnforcerManifests.
	EnforcerManifests = provider.EnforcerManifests
)

// Values of WithProbeMode and WithCNI.
const (
	ProbeModeBatch   = provider.ProbeModeBatch
	ProbeModePerCell = provider.ProbeModePerCell
	CNIBuiltin       = provider.CNIBuiltin
	CNIManifests     = provider.CNIManifests
)

// KubernetesVersion is the version the cluster's API reports, for reports:
// the API server's, or what the netns cluster's fake API says it is.
func KubernetesVersion(c Cluster) string {
	v, err := c.Client().Discovery().ServerVersion()
	if err != nil {
		return "unknown (" + strings.Join(strings.Fields(err.Error()), " ") + ")"
	}
	return v.GitVersion
}
