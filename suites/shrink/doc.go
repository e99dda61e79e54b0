// Package shrink reduces a failing case to a minimal one that still fails
// the same way: a pure search over cases.Case (Candidates, Size) driven by
// a predicate the caller decides (Shrink), so a bug found by a long case is
// handed over as the few policies, rules and pods that show it.
package shrink
