package agent_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// runProbe runs the probe binary outside any namespace: these cases fail
// before any packet is sent.
func runProbe(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(probeBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// TestCommandUsageErrors: bad flags and input exit 2 with a message naming
// the problem; a probe that cannot run is a Result, exit 0.
func TestCommandUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"connect without target", "", []string{"connect"}, 2, `"to" not set`},
		{"connect bad protocol", "", []string{"connect", "--to", "127.0.0.1:9", "--protocol", "icmp"}, 2, "unknown protocol"},
		{"connect bad address", "", []string{"connect", "--to", "localhost:80"}, 2, "want IP:port"},
		{"serve bad port", "", []string{"serve", "--identity", "x/a", "--ports", "http"}, 2, `port "http"`},
		{"serve bad sctp mode", "", []string{"--sctp-mode", "magic", "serve", "--identity", "x/a"}, 2, "SCTP mode"},
		{"batch not JSON", "{nope", []string{"batch"}, 2, "reading probes"},
		{"batch unknown field", `[{"to":"127.0.0.1:1","protocl":"tcp"}]`, []string{"batch"}, 2, "protocl"},
		{"batch missing target", `[{"id":"7","protocol":"tcp"}]`, []string{"batch"}, 2, `probe 0 (id "7"): missing "to"`},
		{"batch bad timeout", `[{"to":"127.0.0.1:1","timeout":"soon"}]`, []string{"batch"}, 2, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runProbe(t, tt.stdin, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestBatchReportsUnrunnableProbesAsErrors: a probe with a bad target in a
// batch is an Error result, and the batch goes on. Clause: DESIGN
// "Probes": error, never blocked.
func TestBatchReportsUnrunnableProbesAsErrors(t *testing.T) {
	stdout, stderr, code := runProbe(t, `[{"id":"a","to":"not-an-address","protocol":"TCP","timeout":"100ms"},{"id":"b","to":"10.0.0.1:80","protocol":"GRE","timeout":100000000}]`, "batch")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d result lines, want 2: %s", len(lines), stdout)
	}
	for _, line := range lines {
		var r agent.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("result line %q: %v", line, err)
		}
		if r.Outcome != agent.Error || r.Error == "" {
			t.Errorf("probe %s: outcome %q error %q, want error with a reason", r.ID, r.Outcome, r.Error)
		}
	}
}

// With --stream one process answers batch after batch, each ended by its
// BatchEnd line, so a harness keeps one exec open per source pod.
func TestBatchStreamAnswersEachBatchThenItsEnd(t *testing.T) {
	in := `[{"id":"a","to":"not-an-address","protocol":"TCP","timeout":"100ms"}]
[{"id":"b","to":"not-an-address","protocol":"UDP"},{"id":"c","to":"not-an-address","protocol":"SCTP"}]
`
	stdout, stderr, code := runProbe(t, in, "batch", "--stream")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var ids []string
	var ends []int
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var end agent.BatchEnd
		if strings.Contains(line, `"batchEnd"`) && json.Unmarshal([]byte(line), &end) == nil {
			ends = append(ends, end.BatchEnd)
			continue
		}
		var r agent.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		ids = append(ids, r.ID)
	}
	if len(ends) != 2 || ends[0] != 1 || ends[1] != 2 || len(ids) != 3 || ids[0] != "a" {
		t.Errorf("results %v and batch ends %v; want a, then {b,c}, ends [1 2]:\n%s", ids, ends, stdout)
	}
}
