// Package cases is the case library as data: each case names the spec clauses
// it exercises and lists steps of actions and the ports and protocols to probe.
// State replays those actions offline so the model can follow a cluster.
package cases
