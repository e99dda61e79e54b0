package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// NewCommand returns the `probe` root command with its serve, connect and
// batch subcommands, so any binary can embed the agent.
func NewCommand() *cobra.Command {
	var sctpMode string
	root := &cobra.Command{
		Use:   "probe",
		Short: "Probe agent: serve TCP/UDP/SCTP with an identity, run probes",
		Long: `probe serves TCP, UDP and SCTP with an identity and runs probes against
other probe servers, with typed outcomes: connected, refused, rejected,
timeout, wrong-peer, error.

SCTP uses kernel sockets when the kernel has SCTP; otherwise it speaks the
INIT / INIT-ACK / ABORT handshake over raw IP sockets, which needs
CAP_NET_RAW (serve and probes alike). TCP and UDP need no capability
beyond binding the ports (ports < 1024 need CAP_NET_BIND_SERVICE or
net.ipv4.ip_unprivileged_port_start).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			mode, err := ParseSCTPMode(sctpMode)
			if err != nil {
				return err
			}
			SetClientSCTPMode(mode)
			return nil
		},
	}
	root.PersistentFlags().StringVar(&sctpMode, "sctp-mode", string(SCTPAuto),
		"how to speak SCTP: auto (kernel if available, else raw), kernel or raw")
	root.AddCommand(newServeCommand(&sctpMode), newConnectCommand(), newBatchCommand())
	return root
}

func newServeCommand(sctpMode *string) *cobra.Command {
	var (
		ports     []string
		protocols []string
		identity  string
		noAbort   bool
	)
	cmd := &cobra.Command{
		Use:   "serve [--identity NAMESPACE/POD] [--ports 80,81] [--protocols tcp,udp,sctp]",
		Short: "Answer probes with an identity until SIGTERM or SIGINT",
		Long: `serve listens on every port for every protocol and answers each probe with
its identity: TCP writes one line after accept, UDP replies to every
datagram, SCTP carries it in the INIT-ACK's State Cookie (raw mode) or
writes it like TCP (kernel mode).

Once every socket is open it prints one line on stdout:
  ready identity=NS/POD ports=80,81 protocols=TCP,UDP,SCTP sctp=raw
SIGTERM or SIGINT close every socket and exit 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			portNumbers, err := parsePorts(ports)
			if err != nil {
				return err
			}
			mode, _ := ParseSCTPMode(*sctpMode)
			if identity == "" {
				identity = identityFromEnv()
			}
			if identity == "" {
				// A container started by hand (docker run IMAGE) still
				// serves; the name says it is nobody's pod, so a probe that
				// expects a pod sees wrong-peer, never connected.
				host, _ := os.Hostname()
				identity = "standalone/" + host
				fmt.Fprintf(cmd.ErrOrStderr(), "probe: no --identity, $PROBE_IDENTITY or $POD_NAMESPACE/$POD_NAME: answering as %s\n", identity)
			}
			opts := []ServeOption{WithServeSCTPMode(mode)}
			if noAbort {
				opts = append(opts, WithoutSCTPAbort())
			}
			srv, err := Listen(identity, portNumbers, protocols, opts...)
			if err != nil {
				return &runFailure{err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			fmt.Fprintln(cmd.OutOrStdout(), srv.ReadyLine())
			return srv.Serve(ctx)
		},
	}
	cmd.Flags().StringSliceVar(&ports, "ports", []string{"80", "81"}, "ports to serve")
	cmd.Flags().StringSliceVar(&protocols, "protocols", []string{"tcp", "udp", "sctp"}, "protocols to serve: tcp, udp, sctp")
	cmd.Flags().BoolVar(&noAbort, "sctp-no-abort", false,
		"raw SCTP: do not ABORT INITs to ports not served (when several servers share a network namespace, e.g. hostNetwork)")
	cmd.Flags().StringVar(&identity, "identity", "", "identity to answer with, namespace/pod (default $PROBE_IDENTITY, else $POD_NAMESPACE/$POD_NAME, else standalone/HOSTNAME)")
	return cmd
}

func newConnectCommand() *cobra.Command {
	var p Probe
	cmd := &cobra.Command{
		Use:   "connect --to IP:PORT [--protocol tcp] [--timeout 1s] [--expect NS/POD]",
		Short: "Run one probe and print its JSON Result",
		Long: `connect runs one probe and prints one JSON Result on stdout. The exit code
is 0 whatever the outcome (read "outcome"); 2 means bad flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := normalizeProtocol(p.Protocol); err != nil {
				return err
			}
			if _, err := parseTarget(p.To); err != nil {
				return err
			}
			res := Connect(cmd.Context(), p)
			return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		},
	}
	cmd.Flags().StringVar(&p.To, "to", "", "target IP:port (IPv6 in brackets) (required)")
	cmd.Flags().StringVar(&p.Protocol, "protocol", "tcp", "tcp, udp or sctp")
	cmd.Flags().DurationVar(&p.Timeout, "timeout", DefaultTimeout, "give up after this long")
	cmd.Flags().StringVar(&p.Expect, "expect", "", "identity that must answer (namespace/pod); another gives wrong-peer")
	cmd.Flags().StringVar(&p.ID, "id", "", "id echoed in the result")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func newBatchCommand() *cobra.Command {
	var (
		concurrency int
		timeout     time.Duration
		stream      bool
	)
	cmd := &cobra.Command{
		Use:   "batch [--concurrency 512] [--timeout 1s] [--stream] < probes.json",
		Short: "Run a JSON array of probes from stdin, print JSON lines of Results",
		Long: `batch reads a JSON array of probes on stdin:
  [{"id":"1","to":"10.0.0.2:80","protocol":"TCP","timeout":"1s","expect":"x/a"}, ...]
("timeout" in nanoseconds or as a duration string; --timeout when absent),
runs them concurrently (at most --concurrency at once) and prints one JSON
Result per line as each completes:
  {"id":"1","to":"10.0.0.2:80","protocol":"TCP","outcome":"connected","identity":"x/a","latency":1234567}
With --stream it reads one JSON array after another until stdin closes and
ends each batch's results with a line {"batchEnd":N} (N results), so one
long-lived exec serves every round.
Exit code 0 whatever the outcomes; 2 for unreadable input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := json.NewEncoder(cmd.OutOrStdout())
			if stream {
				return serveBatchStream(cmd.Context(), cmd.InOrStdin(), out, concurrency, timeout)
			}
			probes, err := ReadProbes(cmd.InOrStdin())
			if err != nil {
				return err
			}
			var writeErr error
			RunBatch(cmd.Context(), probes, concurrency, timeout, func(r Result) {
				if err := out.Encode(r); err != nil && writeErr == nil {
					writeErr = err
				}
			})
			if writeErr != nil {
				return &runFailure{fmt.Errorf("writing results: %w", writeErr)}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", DefaultConcurrency, "probes in flight at most")
	cmd.Flags().DurationVar(&timeout, "timeout", DefaultTimeout, "timeout for probes that set none")
	cmd.Flags().BoolVar(&stream, "stream", false, "read batches until stdin closes, each ended by a {\"batchEnd\":N} line")
	return cmd
}

func parsePorts(specs []string) ([]int, error) {
	var ports []int
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		n, err := strconv.Atoi(spec)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q: want a number 1-65535", spec)
		}
		ports = append(ports, n)
	}
	if len(ports) == 0 {
		return nil, errors.New("no ports given")
	}
	return ports, nil
}

// Main runs the probe command with os.Args and returns the exit code:
// 0 on success, 2 for bad usage or input, 1 when serving failed.
func Main() int {
	cmd := NewCommand()
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "probe:", err)
	var rf *runFailure
	if errors.As(err, &rf) {
		return 1
	}
	return 2
}

// runFailure marks an error of the environment (a port in use, no
// CAP_NET_RAW, stdout closed), as opposed to bad flags or input (exit 2).
type runFailure struct{ err error }

func (e *runFailure) Error() string { return e.err.Error() }
func (e *runFailure) Unwrap() error { return e.err }

// identityFromEnv reads $PROBE_IDENTITY, else $POD_NAMESPACE/$POD_NAME (the
// downward API), so a pod spec needs no per-pod arguments.
func identityFromEnv() string {
	if id := os.Getenv("PROBE_IDENTITY"); id != "" {
		return id
	}
	ns, pod := os.Getenv("POD_NAMESPACE"), os.Getenv("POD_NAME")
	if ns != "" && pod != "" {
		return ns + "/" + pod
	}
	return ""
}
