package matrix

import (
	"context"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// Prober runs one batch of probes from inside a source pod (namespace/pod),
// or from a node's own network namespace (a NodeSource), and returns one Result per Probe, in any order, keyed by Probe.ID. An error
// means the batch itself could not run (exec failed); it is never a verdict.
type Prober interface {
	ProbeBatch(ctx context.Context, source string, probes []agent.Probe) ([]agent.Result, error)
}

// Key identifies one cell: source pod, destination pod (both namespace/pod),
// port and protocol ("TCP", "UDP", "SCTP"), as in the model's truth table.
type Key struct {
	From     string
	To       string
	Port     int32
	Protocol string
}

// Target is a destination pod as the prober reaches it.
type Target struct {
	Pod string // namespace/pod, the identity it answers with
	IP  string
}
