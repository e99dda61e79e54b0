// Package bench measures the harness against baselines on a real cluster.
// Its benchmarks build their own kind clusters; run them with make
// bench-probe (figures are ratios measured in one process, on one cluster).
package bench
