package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// Environment of an agent process. agentEnv carries the run prefix, which is
// also how cleanup finds agents a killed run left behind.
const (
	agentEnv   = "NETPOLCHECK_NETNS_AGENT"
	controlEnv = "NETPOLCHECK_NETNS_CONTROL"
)

// maxConcurrentProbes bounds the sockets one batch opens at once.
const maxConcurrentProbes = 256

func init() {
	if os.Getenv(agentEnv) == "" {
		return
	}
	// This process was started by a netns cluster as a pod's probe agent: it
	// never returns to the host program's main or tests. Without a control
	// socket it is the plain `probe` command (e.g. `probe batch`).
	if os.Getenv(controlEnv) == "" {
		os.Exit(agent.Main())
	}
	if err := runAgent(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "netns agent:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runAgent serves the pod's ports with the probe agent's serve command (args
// are its flags) and answers batch requests on the control socket.
func runAgent(serveArgs []string) error {
	socket := os.Getenv(controlEnv)
	if socket == "" {
		return fmt.Errorf("%s is not set", controlEnv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	_ = os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("listen on control socket: %w", err)
	}
	defer ln.Close()

	serveErr := make(chan error, 1)
	go func() {
		cmd := agent.NewCommand()
		cmd.SetArgs(append([]string{"serve"}, serveArgs...))
		serveErr <- cmd.ExecuteContext(ctx)
	}()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	acceptErr := make(chan error, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			go answerBatch(ctx, conn)
		}
	}()
	select {
	case err := <-serveErr:
		if err == nil {
			err = errors.New("serve ended")
		}
		return fmt.Errorf("serve: %w", err)
	case err := <-acceptErr:
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("control socket: %w", err)
	}
}

// answerBatch is `probe batch` over a connection: a JSON array of probes in,
// one JSON result per line out, in completion order.
func answerBatch(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	probes, err := agent.ReadProbes(conn)
	if err != nil {
		// A line without an outcome: the harness reports it as the batch's error.
		_ = json.NewEncoder(conn).Encode(map[string]string{"error": err.Error()})
		return
	}
	enc := json.NewEncoder(conn)
	var writeErr error
	agent.RunBatch(ctx, probes, maxConcurrentProbes, agent.DefaultTimeout, func(r agent.Result) {
		if writeErr == nil {
			writeErr = enc.Encode(r)
		}
	})
}
