package matrix_test

import (
	"os"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

// probeBin is the real probe binary, built once for all tests.
var probeBin string

func TestMain(m *testing.M) { os.Exit(agenttest.RunWithProbe(m, &probeBin)) }
