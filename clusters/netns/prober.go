package netns

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// prober runs batches through the agent of the source pod.
type prober struct{ c *Cluster }

// ProbeBatch sends the probes to the source pod's agent, which runs them from
// inside the pod's network namespace. The request travels over a unix socket,
// so no policy can block the harness itself.
func (p prober) ProbeBatch(ctx context.Context, source string, probes []agent.Probe) ([]agent.Result, error) {
	socket, err := p.c.controlSocket(source)
	if err != nil {
		return nil, err
	}
	return sendBatch(ctx, socket, probes)
}

func sendBatch(ctx context.Context, socket string, probes []agent.Probe) ([]agent.Result, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("reach agent at %s: %w", socket, err)
	}
	defer conn.Close()
	// No probe outlives its own timeout; the slack covers scheduling.
	deadline := time.Now().Add(batchTimeout(probes))
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("agent at %s: %w", socket, err)
	}
	if err := json.NewEncoder(conn).Encode(probes); err != nil {
		return nil, fmt.Errorf("send batch to agent at %s: %w", socket, err)
	}
	if err := conn.(*net.UnixConn).CloseWrite(); err != nil {
		return nil, fmt.Errorf("send batch to agent at %s: %w", socket, err)
	}
	results := make([]agent.Result, 0, len(probes))
	scanner := bufio.NewScanner(conn)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for scanner.Scan() {
		var r agent.Result
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("agent at %s: bad result line %q: %w", socket, scanner.Text(), err)
		}
		if r.Outcome == "" {
			// The agent could not read the batch; the line says why.
			return nil, fmt.Errorf("agent at %s: %s", socket, scanner.Text())
		}
		results = append(results, r)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read results from agent at %s: %w", socket, err)
	}
	if len(results) != len(probes) {
		return nil, fmt.Errorf("agent at %s answered %d of %d probes", socket, len(results), len(probes))
	}
	return results, nil
}

func batchTimeout(probes []agent.Probe) time.Duration {
	longest := agent.DefaultTimeout
	for _, p := range probes {
		longest = max(longest, p.Timeout)
	}
	// Probes run at most maxConcurrentProbes at a time.
	waves := time.Duration(1 + len(probes)/maxConcurrentProbes)
	return waves*longest + 5*time.Second
}
