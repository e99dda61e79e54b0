// Package generate makes conformance cases instead of writing them by hand:
// a combinatorial family over the spec's dimensions (target selector, peer,
// selector form, port form, protocol, policyTypes, a change over time) and
// seeded random cases, deterministic from a seed and labelled with the
// dimensions and clause IDs they cover. The cases are ordinary cases.Case
// values, so they run, write and replay like the curated library.
package generate
