// Package generated is the Ginkgo suite over generated cases
// (suites/cases/generate): one It per case, run with the same runner and
// reports as the curated suite, on one cluster for the whole suite (the
// netns cluster unless NETPOLCHECK_CLUSTER says otherwise). With the
// reference enforcer it is the differential check of the model against
// real packets: every generated case must pass, and one that does not is
// shrunk to a minimal case, written as YAML beside the reports.
package generated
