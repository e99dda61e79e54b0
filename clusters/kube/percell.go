package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/tools/remotecommand"

	"github.com/netpolcheck/netpolcheck/clusters/images"
	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// perCellWorkers is how many probes the upstream e2e suite runs at once.
const perCellWorkers = 3

// perCellExecGrace is what one exec may take beyond its probe's timeout.
const perCellExecGrace = 30 * time.Second

// perCellProber probes the way the upstream e2e suite does: every cell is
// one exec of a single `probe connect` in the source pod, three cells at a
// time across the whole matrix. It is the baseline the default prober is
// measured against (make bench-probe), and a fallback for API servers that
// cannot keep streams open.
type perCellProber struct {
	exec    *execProber
	workers chan struct{} // shared by every source: three execs at once
}

func newPerCellProber(exec *execProber) *perCellProber {
	return &perCellProber{exec: exec, workers: make(chan struct{}, perCellWorkers)}
}

// ProbeBatch runs each probe as its own exec. The matrix bounds a batch by
// what one source's probes take when they run side by side; here they wait
// for three workers shared by every source, so the batch's deadline does
// not apply: each exec has its own (its probe's timeout plus the exec's
// grace), and cancellation (Ctrl-C, the step's end) still stops them.
func (p *perCellProber) ProbeBatch(ctx context.Context, source string, probes []agent.Probe) ([]agent.Result, error) {
	namespace, pod, err := p.exec.podOf(source)
	if err != nil {
		return nil, err
	}
	ctx, stop := ignoreDeadline(ctx)
	defer stop()
	results := make([]agent.Result, len(probes))
	var wg sync.WaitGroup
	for i, probe := range probes {
		wg.Go(func() {
			select {
			case p.workers <- struct{}{}:
			case <-ctx.Done():
				results[i] = errorResult(probe, ctx.Err())
				return
			}
			defer func() { <-p.workers }()
			results[i] = p.connect(ctx, namespace, pod, probe)
		})
	}
	wg.Wait()
	return results, nil
}

// connect runs one `probe connect` exec; a failed exec is that cell's Error
// result (never a blocked one).
func (p *perCellProber) connect(ctx context.Context, namespace, pod string, probe agent.Probe) agent.Result {
	timeout := probe.Timeout
	if timeout <= 0 {
		timeout = agent.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+perCellExecGrace)
	defer cancel()
	command := []string{images.ProbeBinaryPath, "connect", "--id", probe.ID, "--to", probe.To,
		"--protocol", probe.Protocol, "--timeout", timeout.String()}
	if probe.Expect != "" {
		command = append(command, "--expect", probe.Expect)
	}
	exec, err := p.exec.executor(namespace, pod, command, false)
	if err != nil {
		return errorResult(probe, err)
	}
	var stdout, stderr bytes.Buffer
	if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
		return errorResult(probe, fmt.Errorf("exec probe connect in %s/%s: %w: %s", namespace, pod, err, strings.TrimSpace(stderr.String())))
	}
	var r agent.Result
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); err != nil {
		return errorResult(probe, fmt.Errorf("probe connect in %s/%s: bad result %q: %w", namespace, pod, stdout.String(), err))
	}
	return r
}

func errorResult(probe agent.Probe, err error) agent.Result {
	return agent.Result{ID: probe.ID, To: probe.To, Protocol: probe.Protocol, Outcome: agent.Error, Error: err.Error()}
}

// ignoreDeadline returns a context that ends when parent is cancelled but
// not when parent's deadline passes.
func ignoreDeadline(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		if err := context.Cause(parent); !errors.Is(err, context.DeadlineExceeded) {
			cancel(err)
		}
	})
	return ctx, func() { stop(); cancel(nil) }
}
