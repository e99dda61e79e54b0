// Package matrix is the harness side of probing: it fans a whole matrix of
// probes out through a Prober, one batch per source pod in parallel, and
// returns the observed table keyed like the model's truth table.
package matrix
