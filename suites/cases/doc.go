// Package cases is the case library as data: each case names the spec clauses
// it exercises and lists steps of actions and the ports and protocols to probe.
// State replays those actions offline so the model can follow a cluster.
// Actions are typed values and cases read and write as YAML, so any case can
// be stored and replayed; feature labels are derived from what a case does.
package cases
