package cases

import (
	"time"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Case is one conformance case: a named list of steps over a topology.
type Case struct {
	// Name is unique and readable; it becomes the Ginkgo It text.
	Name string
	// Features are the case's Ginkgo labels: the ones DeriveFeatures reads
	// from its policies, actions and probes ("ingress", "ipblock", "sctp",
	// "update", ...), after the few nobody can derive ("upstream",
	// "generated"). WithDerivedFeatures fills it; the library and Unmarshal
	// call it, so a label always says what the case really does.
	Features []string
	// Clauses are the spec clause IDs (DESIGN.md) the case exercises.
	Clauses []model.ClauseID
	// Upstream is the text of the upstream e2e It this case mirrors, if any.
	Upstream string
	// Topology is nil for the default topology (model.DefaultTopology).
	Topology *model.Topology
	Steps    []Step
}

// Step is a set of actions followed by a probe of the whole matrix on the
// given ports and protocols.
type Step struct {
	Name    string
	Actions []Action
	// Probes lists the ports and protocols to probe after the actions.
	Probes []model.PortProtocol
	// Deadline overrides the runner's default convergence deadline.
	Deadline time.Duration
	// Unenforced judges the step as if no policy existed: nothing in the
	// cluster is meant to enforce (the preflight's canary when the enforcer
	// under test is none), and a policy that takes effect is a failure.
	Unenforced bool
	// Hold keeps the step probing at least this long after its actions,
	// even once it has converged, so that a change that should not come
	// (an enforcement nobody was meant to make) has the time to show.
	Hold time.Duration
}
