package main

//go:generate go run . docs --out ../../docs/cases.md

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

func newDocsCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "docs [--out FILE]",
		Short: "Print the case library as Markdown (docs/cases.md is this output)",
		Long: `docs prints every case of the library as Markdown: its name, labels,
clauses, topology and steps, written from the cases themselves. The
repository's docs/cases.md is its output ("go generate ./cmd/netpolcheck"
rewrites it; a test fails when it is stale).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var b strings.Builder
			if err := writeCasesDoc(&b, cases.All()); err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := io.WriteString(cmd.OutOrStdout(), b.String())
				return err
			}
			return writeFileAtomic(out, []byte(b.String()))
		},
	}
	cmd.Flags().StringVar(&out, "out", "-", "write to this file instead of stdout (-)")
	return cmd
}

// writeFileAtomic replaces path with data, or leaves it as it was.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".netpolcheck-docs-*")
	if err != nil {
		return badInput(fmt.Errorf("--out %s: %w", path, err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeCasesDoc writes the case library as Markdown.
func writeCasesDoc(w io.Writer, all []cases.Case) error {
	var b strings.Builder
	upstream := 0
	perClause := map[model.ClauseID]int{}
	for _, c := range all {
		if c.Upstream != "" {
			upstream++
		}
		for _, id := range c.Clauses {
			perClause[id]++
		}
	}
	b.WriteString("# The case library\n\n")
	b.WriteString("<!-- Generated from suites/cases by `go generate ./cmd/netpolcheck` (netpolcheck docs). Do not edit:\n")
	b.WriteString("     TestCasesDocIsCurrent fails when this file and the cases disagree. -->\n\n")
	fmt.Fprintf(&b, "%d cases: %d mirror a data-plane test of the upstream e2e suite (`test/e2e/network/netpol`), %d are\n", len(all), upstream, len(all)-upstream)
	b.WriteString("netpolcheck's own. A case is a list of steps; a step applies its actions, then probes the whole\n")
	b.WriteString("matrix on the listed ports until it matches the spec model's truth table. `netpolcheck run --focus NAME`\n")
	b.WriteString("runs one case, `netpolcheck run --dump-case NAME` prints its manifests at each step,\n")
	b.WriteString("`netpolcheck run --export-case NAME` prints it as YAML for `netpolcheck replay` ([cli.md](cli.md#cases-as-yaml)),\n")
	b.WriteString("and `--label-filter` selects on the labels below (features derived from what the case does, and\n")
	b.WriteString("clause IDs, see [clauses.md](clauses.md)).\n")
	b.WriteString("Unless a case says otherwise it uses the [default topology](topology.md#the-default-topology).\n\n")

	b.WriteString("| clause | cases |\n|---|---|\n")
	for _, id := range model.Clauses() {
		fmt.Fprintf(&b, "| %s | %d |\n", id, perClause[id])
	}
	for _, c := range all {
		if err := writeCaseDoc(&b, c); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCaseDoc(b *strings.Builder, c cases.Case) error {
	fmt.Fprintf(b, "\n### %s\n\n", markdownText(c.Name))
	fmt.Fprintf(b, "- Labels: %s\n", codeList(runner.Labels(c)))
	var ids []string
	for _, id := range c.Clauses {
		ids = append(ids, string(id))
	}
	fmt.Fprintf(b, "- Clauses: %s\n", strings.Join(ids, ", "))
	if c.Upstream != "" {
		fmt.Fprintf(b, "- Upstream: %s\n", markdownText(c.Upstream))
	}
	fmt.Fprintf(b, "- Topology: %s\n", describeTopology(c.Topology))
	b.WriteString("- Steps:\n")
	state := cases.StateFor(c)
	for i, step := range c.Steps {
		var actions []string
		for _, a := range step.Actions {
			actions = append(actions, describeAction(a))
			if err := state.Apply(a); err != nil {
				return fmt.Errorf("case %q step %d: %w", c.Name, i+1, err)
			}
		}
		name := step.Name
		if name == "" {
			name = fmt.Sprintf("step %d", i+1)
		}
		fmt.Fprintf(b, "  %d. %s: ", i+1, markdownText(name))
		if len(actions) > 0 {
			fmt.Fprintf(b, "%s; ", strings.Join(actions, "; "))
		}
		var probes []string
		for _, pp := range step.Probes {
			probes = append(probes, pp.String())
		}
		fmt.Fprintf(b, "probe %s", strings.Join(probes, ", "))
		if step.Deadline > 0 {
			fmt.Fprintf(b, " (deadline %s)", step.Deadline)
		}
		b.WriteString(".\n")
	}
	return nil
}

// describeAction says what an action does.
func describeAction(a cases.Action) string {
	switch a := a.(type) {
	case cases.CreatePolicy:
		return "create policy " + code(model.PolicyKey(a.Policy)) + fromAddresses(a.Policy)
	case cases.UpdatePolicy:
		return "update policy " + code(model.PolicyKey(a.Policy)) + fromAddresses(a.Policy)
	case cases.DeletePolicy:
		return "delete policy " + code(a.Namespace+"/"+a.Name)
	case cases.SetPodLabels:
		return "set the labels of pod " + code(a.Pod.String()) + " to " + labelText(a.Labels)
	case cases.SetNamespaceLabels:
		return "set the labels of namespace " + code(a.Namespace) + " to " + labelText(a.Labels)
	case cases.CreatePod:
		return "create pod " + describePod(a.Pod)
	case cases.DeletePod:
		return "delete pod " + code(a.Pod.String())
	}
	return fmt.Sprintf("(an action of type %T)", a)
}

// fromAddresses notes a policy whose ipBlocks name pods.
func fromAddresses(np *networkingv1.NetworkPolicy) string {
	if pcs, err := cases.PodCIDRs(np); err == nil && len(pcs) > 0 {
		return " from the pods' addresses"
	}
	return ""
}

// describeTopology is one line about a case's topology.
func describeTopology(t *model.Topology) string {
	if t == nil {
		return "the default"
	}
	var ns []string
	for _, name := range slices.Sorted(maps.Keys(t.Namespaces)) {
		ns = append(ns, code(name)+" ("+labelText(t.Namespaces[name].Labels)+")")
	}
	var pods []string
	for _, p := range t.Pods {
		pods = append(pods, describePod(p))
	}
	return fmt.Sprintf("namespaces %s; pods %s", strings.Join(ns, ", "), strings.Join(pods, ", "))
}

// describePod names a pod with its labels, node and ports.
func describePod(p model.Pod) string {
	var extra []string
	if p.HostNetwork {
		extra = append(extra, "hostNetwork")
	}
	if p.Node != "" {
		extra = append(extra, "on "+p.Node)
	}
	var ports []string
	for _, cp := range p.Ports {
		proto := cp.Protocol
		if proto == "" {
			proto = "TCP"
		}
		s := model.PortProtocol{Port: cp.Port, Protocol: proto}.String()
		if cp.Name != "" && cp.Name != model.DefaultPortName(model.PortProtocol{Port: cp.Port, Protocol: proto}) {
			s += " named " + cp.Name
		}
		ports = append(ports, s)
	}
	if len(ports) > 0 {
		extra = append(extra, "serving "+strings.Join(ports, ", "))
	}
	if p.Phase != "" {
		extra = append(extra, "phase "+string(p.Phase))
	}
	return code(p.Ref().String()) + " (" + strings.Join(append([]string{labelText(p.Labels)}, extra...), ", ") + ")"
}

// labelText is a label set as `k=v,k=v`, sorted; `{}` when empty.
func labelText(labels map[string]string) string {
	if len(labels) == 0 {
		return "`{}`"
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		kv = append(kv, k+"="+labels[k])
	}
	return code(strings.Join(kv, ","))
}

func code(s string) string { return "`" + s + "`" }

func codeList(items []string) string {
	var out []string
	for _, s := range items {
		out = append(out, code(s))
	}
	return strings.Join(out, ", ")
}

// markdownText escapes the characters Markdown would read as markup.
func markdownText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", "|", `\|`, "[", `\[`).Replace(s)
}
