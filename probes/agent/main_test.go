package agent_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

// probeBin is the real probe binary, built once for all tests.
var probeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "h3-probe-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	probeBin, err = agenttest.BuildProbe(dir)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}
