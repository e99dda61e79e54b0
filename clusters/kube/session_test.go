package kube

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// runAgentStream stands for the exec: the real agent's `batch --stream`,
// in process, on the session's pipes.
func runAgentStream(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := agent.NewCommand()
	cmd.SetArgs([]string{"batch", "--stream"})
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return cmd.ExecuteContext(ctx)
}

// One session answers batch after batch, each with exactly its results
// (probes that cannot run are Error results: no network needed).
func TestSessionRunsBatchAfterBatch(t *testing.T) {
	s := openSession(runAgentStream)
	defer s.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for round, n := range []int{1, 3, 2} {
		var probes []agent.Probe
		for i := range n {
			probes = append(probes, agent.Probe{ID: strings.Repeat("p", i+1), To: "not-an-address", Protocol: "TCP", Timeout: 50 * time.Millisecond})
		}
		results, err := s.batch(ctx, probes)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(results) != n {
			t.Fatalf("round %d: %d results, want %d", round, len(results), n)
		}
		for _, r := range results {
			if r.Outcome != agent.Error {
				t.Errorf("round %d: %s outcome %s, want error", round, r.ID, r.Outcome)
			}
		}
	}
}

// A session whose exec ended fails its next batch at once with the reason,
// so the prober drops it and falls back.
func TestSessionReportsAnEndedStream(t *testing.T) {
	s := openSession(func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		io.WriteString(stderr, "pod is gone")
		return io.ErrUnexpectedEOF
	})
	defer s.close()
	<-s.done
	_, err := s.batch(context.Background(), []agent.Probe{{ID: "1", To: "10.0.0.1:80", Protocol: "TCP"}})
	if err == nil || !strings.Contains(err.Error(), "pod is gone") {
		t.Fatalf("want the stream's end with its stderr, got %v", err)
	}
}
