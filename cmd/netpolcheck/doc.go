// Command netpolcheck is the CLI: run suites, print truth tables, explain
// verdicts, manage clusters and images.
package main
