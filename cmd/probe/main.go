package main

import (
	"os"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

func main() { os.Exit(agent.Main()) }
