// Package reports turns the results of a run into what people and CI systems
// read: JSON Lines (the source of truth, written as the run goes), JUnit XML,
// a self-contained HTML page, a Markdown summary for CI step summaries, a
// conformance report in YAML, and the comparison of two runs.
//
// Every rendering reads the one result model of package reports/result; none
// of them computes a verdict of its own. The door is Write (every format
// into a report directory), Read (a JSONL file back into a result set) and
// Compare (the cells where two runs disagree).
package reports
