// Package core is the Ginkgo suite over the case library: one It per case,
// labelled by feature and clause, run on one cluster for the whole suite
// (the netns cluster unless NETPOLCHECK_CLUSTER says otherwise).
package core
