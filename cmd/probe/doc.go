// Command probe is the in-pod probe agent: `probe serve`, `probe connect`,
// `probe batch`. Everything lives in probes/agent so other binaries can
// embed it.
package main
