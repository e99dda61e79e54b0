// Command probe is the in-pod probe agent: `probe serve`, `probe connect`,
// `probe batch`. Everything lives in probes/agent so other binaries can
// embed it.
package main

import (
	"os"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

func main() { os.Exit(agent.Main()) }
