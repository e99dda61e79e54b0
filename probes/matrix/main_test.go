package matrix_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

var probeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "h3-matrix-bin-")
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
