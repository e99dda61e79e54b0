package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

func init() { subcommands = append(subcommands, newExplainCommand) }

func newExplainCommand() *cobra.Command {
	var (
		in       modelInput
		from, to string
		port     int32
		protocol string
		output   string
	)
	cmd := &cobra.Command{
		Use:   "explain --from NS/POD|IP --to NS/POD --port N [--protocol P] [--topology FILE] [-f PATH]...",
		Short: "Explain one cell: the verdict, each direction, and the clauses, policies, rules and peers behind it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return badInput(fmt.Errorf("--output %q: want text or json", output))
			}
			traffic, err := explainTraffic(from, to, port, protocol)
			if err != nil {
				return badInput(err)
			}
			topo, policies, err := in.load(cmd.InOrStdin())
			if err != nil {
				return err
			}
			if traffic.From.Pod != nil {
				if _, err := topo.Pod(*traffic.From.Pod); err != nil {
					return badInput(fmt.Errorf("--from: %w", err))
				}
			}
			if _, err := topo.Pod(traffic.To); err != nil {
				return badInput(fmt.Errorf("--to: %w", err))
			}
			v, err := model.Evaluate(topo, policies, traffic)
			if err != nil {
				return badInput(err)
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return writeExplanation(cmd.OutOrStdout(), traffic, v)
		},
	}
	in.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&from, "from", "", "source: a pod as namespace/name, or an IP (a node or an outside address)")
	cmd.Flags().StringVar(&to, "to", "", "destination pod as namespace/name")
	cmd.Flags().Int32Var(&port, "port", 0, "destination port")
	cmd.Flags().StringVar(&protocol, "protocol", "TCP", "TCP, UDP or SCTP")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	for _, name := range []string{"from", "to", "port"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func explainTraffic(from, to string, port int32, protocol string) (model.Traffic, error) {
	var t model.Traffic
	if _, err := netip.ParseAddr(from); err == nil {
		t.From.IP = from
	} else {
		ref, err := model.ParsePodRef(from)
		if err != nil {
			return t, fmt.Errorf("--from: %w (or give an IP)", err)
		}
		t.From.Pod = &ref
	}
	ref, err := model.ParsePodRef(to)
	if err != nil {
		return t, fmt.Errorf("--to: %w", err)
	}
	t.To = ref
	if port < 1 || port > 65535 {
		return t, fmt.Errorf("--port %d: want 1 to 65535", port)
	}
	t.Port = port
	proto, err := model.ParseProtocol(protocol)
	if err != nil {
		return t, fmt.Errorf("--protocol: %w", err)
	}
	t.Protocol = proto
	return t, nil
}

// writeExplanation prints the verdict, then the reasons grouped by direction.
func writeExplanation(w io.Writer, t model.Traffic, v model.Verdict) error {
	src := t.From.IP
	if t.From.Pod != nil {
		src = t.From.Pod.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s -> %s on %d/%s: %s\n", src, t.To, t.Port, t.Protocol, v.Allowed)
	fmt.Fprintf(&b, "  ingress (at %s): %s\n", t.To, v.Ingress)
	fmt.Fprintf(&b, "  egress (from %s): %s\n", src, v.Egress)
	for _, section := range []struct {
		title string
		dir   model.Direction
	}{{"ingress", model.Ingress}, {"egress", model.Egress}, {"verdict", ""}} {
		fmt.Fprintf(&b, "\n%s:\n", section.title)
		for _, r := range v.Reasons {
			if r.Direction != section.dir {
				continue
			}
			fmt.Fprintf(&b, "  [%s]", r.Clause)
			if r.Policy != "" {
				fmt.Fprintf(&b, " policy %s", r.Policy)
				if r.Rule >= 0 {
					fmt.Fprintf(&b, " rule %d", r.Rule)
				}
				if r.Peer >= 0 {
					fmt.Fprintf(&b, " peer %d", r.Peer)
				}
				if r.PortIndex >= 0 {
					fmt.Fprintf(&b, " port %d", r.PortIndex)
				}
				b.WriteString(":")
			}
			fmt.Fprintf(&b, " %s\n", r.Text)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
