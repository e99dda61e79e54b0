// Package mutants measures the case library's kill rate: it runs the cases
// against deliberately broken variants of the reference enforcer
// (enforcer.Mutants), each a classic plugin bug, on the netns cluster, and
// requires every variant to fail some case. A mutant that survives is a bug
// the library would let a real plugin ship.
package mutants
