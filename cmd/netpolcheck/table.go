package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/netpolcheck/netpolcheck/reports/result"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reference/model/manifest"
)

// modelInput is the offline input shared by table and explain: a topology
// file (or the default topology) and policy manifests.
type modelInput struct {
	topologyFile string
	files        []string
}

func (in *modelInput) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&in.topologyFile, "topology", "", "topology YAML file (default: namespaces x, y, z with pods a, b, c)")
	fs.StringArrayVarP(&in.files, "filename", "f", nil, "NetworkPolicy manifests: files, directories, or - for stdin (repeatable)")
}

// load reads and checks everything; every failure is bad input naming the
// file, document and line.
func (in *modelInput) load(stdin io.Reader) (*model.Topology, []*networkingv1.NetworkPolicy, error) {
	topo := model.DefaultTopology()
	if in.topologyFile != "" {
		t, err := manifest.LoadTopology(stdin, in.topologyFile)
		if err != nil {
			return nil, nil, badInput(err)
		}
		topo = t
	}
	stdinUses := 0
	for _, f := range in.files {
		if f == "-" {
			stdinUses++
		}
	}
	if in.topologyFile == "-" {
		stdinUses++
	}
	if stdinUses > 1 {
		return nil, nil, badInput(errors.New("stdin (-) can be read only once"))
	}
	policies, err := manifest.LoadPolicies(stdin, in.files...)
	if err != nil {
		return nil, nil, badInput(err)
	}
	if err := manifest.Check(topo, policies); err != nil {
		return nil, nil, badInput(err)
	}
	return topo, manifest.Objects(policies), nil
}

func newTableCommand() *cobra.Command {
	var (
		in       modelInput
		output   string
		ports    []string
		protocol string
	)
	cmd := &cobra.Command{
		Use:   "table [--topology FILE] [-f PATH]...",
		Short: "Print the truth table the spec model derives from policies, offline",
		Long: `Print, for every ordered pair of pods and every port and protocol of the
topology, whether the policies allow the connection: "." allowed, "X" denied,
"?" implementation-defined. -o json prints the machine-readable form, -o yaml
the same as YAML.
Selectors that match no pod or namespace of the topology, and named ports no
pod declares, are reported as warnings on stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return badInput(err)
			}
			proto, err := parseProtocolFlag(protocol)
			if err != nil {
				return badInput(err)
			}
			var pps []model.PortProtocol
			for _, s := range ports {
				pp, err := parsePort(s, protocol)
				if err != nil {
					return badInput(err)
				}
				pps = append(pps, pp)
			}
			topo, policies, err := in.load(cmd.InOrStdin())
			if err != nil {
				return err
			}
			if len(ports) == 0 && proto != "" {
				for _, pp := range topo.PortProtocols() {
					if pp.Protocol == proto {
						pps = append(pps, pp)
					}
				}
				if len(pps) == 0 {
					return badInput(fmt.Errorf("--protocol %s: no pod of the topology serves %s", protocol, proto))
				}
			}
			writeWarnings(cmd.ErrOrStderr(), policyWarnings(topo, policies))
			table, err := model.TruthTable(topo, policies, pps)
			if err != nil {
				return badInput(err)
			}
			switch output {
			case outputJSON:
				return table.WriteJSON(cmd.OutOrStdout())
			case outputYAML:
				var b bytes.Buffer
				if err := table.WriteJSON(&b); err != nil {
					return err
				}
				return writeJSONAs(cmd.OutOrStdout(), output, b.Bytes())
			}
			return writeTableText(cmd.OutOrStdout(), table)
		},
	}
	in.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", outputText, "output format: text, json or yaml")
	cmd.Flags().StringArrayVar(&ports, "port", nil, "only this port, as 80/TCP or 80 (repeatable; default: every port of the topology)")
	cmd.Flags().StringVar(&protocol, "protocol", "", "protocol of the ports given as bare numbers (default TCP); without --port, only the topology's ports of this protocol")
	return cmd
}

// writeTableText writes one expected grid per port, in the one grid form.
func writeTableText(w io.Writer, table *model.Table) error {
	for i, pp := range table.Ports() {
		g, err := result.ExpectedGrid(table, pp)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, g.Text(result.Expected)); err != nil {
			return err
		}
	}
	return nil
}
