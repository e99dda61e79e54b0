package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

func newExplainCommand() *cobra.Command {
	var (
		in       modelInput
		from, to string
		port     string
		protocol string
		output   string
	)
	cmd := &cobra.Command{
		Use:   "explain --from NS/POD|IP --to NS/POD --port N[/PROTOCOL] [--protocol P] [--topology FILE] [-f PATH]...",
		Short: "Explain one cell: the verdict, each direction, and the clauses, policies, rules and peers behind it",
		Long: `Explain one cell: the verdict of each direction and of the connection, and
the clauses, policies, rules, peers and ports behind them. The port is given
as in table: --port 80/TCP, or --port 80 --protocol TCP (TCP when neither
says). -o json prints the cell with the same value types as table -o json;
-o yaml prints the same as YAML.
Selectors that match no pod or namespace of the topology, and named ports no
pod declares, are reported as warnings on stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return badInput(err)
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
			writeWarnings(cmd.ErrOrStderr(), policyWarnings(topo, policies))
			if output != outputText {
				return writeData(cmd.OutOrStdout(), output, explanationJSON(traffic, v))
			}
			return writeExplanation(cmd.OutOrStdout(), traffic, v)
		},
	}
	in.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&from, "from", "", "source: a pod as namespace/name, or an IP (a node or an outside address)")
	cmd.Flags().StringVar(&to, "to", "", "destination pod as namespace/name")
	cmd.Flags().StringVar(&port, "port", "", "destination port, as 80/TCP or 80")
	cmd.Flags().StringVar(&protocol, "protocol", "", "protocol of a --port given as a bare number: TCP (default), UDP or SCTP")
	cmd.Flags().StringVarP(&output, "output", "o", outputText, "output format: text, json or yaml")
	for _, name := range []string{"from", "to", "port"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func explainTraffic(from, to, port, protocol string) (model.Traffic, error) {
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
	pp, err := parsePort(port, protocol)
	if err != nil {
		return t, err
	}
	t.Port, t.Protocol = pp.Port, pp.Protocol
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

// explainedCell is explain -o json: the cell, named as table -o json names
// it, with the same value types (true, false or "undefined"), and the
// reasons. Indexes into a policy appear only where they apply.
type explainedCell struct {
	From     string            `json:"from"`
	To       string            `json:"to"`
	Port     int32             `json:"port"`
	Protocol string            `json:"protocol"`
	Ingress  any               `json:"ingress"`
	Egress   any               `json:"egress"`
	Allowed  any               `json:"allowed"`
	Reasons  []explainedReason `json:"reasons"`
}

type explainedReason struct {
	// Direction is "ingress", "egress", or absent for the combined verdict.
	Direction string `json:"direction,omitempty"`
	Clause    string `json:"clause"`
	Policy    string `json:"policy,omitempty"`
	Rule      *int   `json:"rule,omitempty"`
	Peer      *int   `json:"peer,omitempty"`
	PortIndex *int   `json:"portIndex,omitempty"`
	Text      string `json:"text"`
}

func explanationJSON(t model.Traffic, v model.Verdict) explainedCell {
	src := t.From.IP
	if t.From.Pod != nil {
		src = t.From.Pod.String()
	}
	out := explainedCell{
		From: src, To: t.To.String(), Port: t.Port, Protocol: string(t.Protocol),
		Ingress: jsonDecision(v.Ingress), Egress: jsonDecision(v.Egress), Allowed: jsonDecision(v.Allowed),
		Reasons: []explainedReason{},
	}
	index := func(i int) *int {
		if i < 0 {
			return nil
		}
		return &i
	}
	for _, r := range v.Reasons {
		out.Reasons = append(out.Reasons, explainedReason{
			Direction: strings.ToLower(string(r.Direction)),
			Clause:    string(r.Clause),
			Policy:    r.Policy,
			Rule:      index(r.Rule),
			Peer:      index(r.Peer),
			PortIndex: index(r.PortIndex),
			Text:      r.Text,
		})
	}
	return out
}

// jsonDecision is a decision as table -o json writes it: true, false, or
// the string "undefined".
func jsonDecision(d model.Decision) any {
	switch d {
	case model.Allowed:
		return true
	case model.Denied:
		return false
	}
	return string(model.Undefined)
}
