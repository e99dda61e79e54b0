// Package agenttest is test plumbing for real-packet tests of the probe
// agent: it builds the probe binary, makes network namespaces joined by
// veth pairs, runs `probe serve` in them, and removes everything afterwards.
// It needs root.
package agenttest
