// Package runner applies a case's steps to a cluster, takes the expected table
// from the spec model, probes the whole matrix in rounds until it converges,
// and records per cell the outcome, time-to-enforce, leaks and flips.
package runner
