package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// session is one long-lived `probe batch --stream` exec in a source's pod:
// each round writes a batch to its stdin and reads results until the
// batch's end line, so a round costs no exec set-up (the netns cluster's
// control socket, in Kubernetes form).
type session struct {
	mu     sync.Mutex // one batch at a time
	stdin  io.WriteCloser
	lines  chan []byte // stdout lines; closed when the exec ends
	done   chan struct{}
	err    error // why the exec ended, once done is closed
	stderr *bytes.Buffer
	cancel context.CancelFunc
}

// openSession starts the stream; start runs the exec until its context
// ends or stdin closes.
func openSession(start func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error) *session {
	ctx, cancel := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{stdin: inW, lines: make(chan []byte, 64), done: make(chan struct{}), stderr: &bytes.Buffer{}, cancel: cancel}
	go func() {
		err := start(ctx, inR, outW, stderrTail{s})
		outW.CloseWithError(err)
		inR.CloseWithError(err)
		s.err = err
		close(s.done)
	}()
	go func() {
		defer close(s.lines)
		scanner := bufio.NewScanner(outR)
		scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for scanner.Scan() {
			s.lines <- append([]byte(nil), scanner.Bytes()...)
		}
	}()
	return s
}

// stderrTail keeps the start of stderr for error messages; it is read only
// once the exec has ended.
type stderrTail struct{ s *session }

func (w stderrTail) Write(b []byte) (int, error) {
	if w.s.stderr.Len() < 4096 {
		w.s.stderr.Write(b)
	}
	return len(b), nil
}

// batch runs one batch over the session. Any error leaves the session
// unusable: the caller closes it and opens another.
func (s *session) batch(ctx context.Context, probes []agent.Probe) ([]agent.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := json.Marshal(probes)
	if err != nil {
		return nil, err
	}
	written := make(chan error, 1)
	go func() {
		_, err := s.stdin.Write(append(in, '\n'))
		written <- err
	}()
	results := make([]agent.Result, 0, len(probes))
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-written:
			if err != nil {
				// The pipe fails only once the exec has ended: say why.
				select {
				case <-s.done:
					return nil, s.ended()
				case <-ctx.Done():
					return nil, fmt.Errorf("send batch: %w", err)
				}
			}
			written = nil
		case line, ok := <-s.lines:
			if !ok {
				<-s.done
				return nil, s.ended()
			}
			if bytes.Contains(line, []byte(`"batchEnd"`)) {
				var end agent.BatchEnd
				if err := json.Unmarshal(line, &end); err != nil || end.BatchEnd != len(probes) || len(results) != len(probes) {
					return nil, fmt.Errorf("batch ended after %d of %d results (%s)", len(results), len(probes), line)
				}
				return results, nil
			}
			var r agent.Result
			if err := json.Unmarshal(line, &r); err != nil {
				return nil, fmt.Errorf("bad result line %q: %w", line, err)
			}
			results = append(results, r)
		}
	}
}

// ended is the error of a session whose exec has ended.
func (s *session) ended() error {
	return fmt.Errorf("stream ended: %v: %s", s.err, strings.TrimSpace(s.stderr.String()))
}

func (s *session) close() {
	s.stdin.Close()
	s.cancel()
}
