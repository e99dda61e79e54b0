// Package agent is the probe agent that runs in every probe pod: it serves
// TCP, UDP and SCTP on the configured ports, answering with its identity, and
// runs single probes and batches of probes with typed outcomes.
package agent
