package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/clusters"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Manage the clusters netpolcheck creates",
	}
	cmd.AddCommand(newClusterCleanupCommand())
	return cmd
}

func newClusterCleanupCommand() *cobra.Command {
	var provider, kubeconfig, kubeContext string
	var all bool
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what earlier runs left behind (network namespaces, links, agents, run directories)",
		Long: `cleanup removes the leftovers of runs that did not destroy their cluster,
for example after kill -9: agent processes, network namespaces and links whose
names start with the run prefix ("npc-"), and /run/netpolcheck/<run>;
--cluster kind: kind clusters of runs that are gone, then the edge guard;
--cluster existing: the namespaces runs from this machine left on the cluster
of --kubeconfig/--context (they carry the annotation netpolcheck.io/run).
Runs whose owner process is still alive are kept unless --all is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			removed, err := clusters.Cleanup(cmd.Context(), provider, all, clusters.WithKubeconfig(kubeconfig, kubeContext))
			for _, r := range removed {
				fmt.Fprintln(cmd.OutOrStdout(), "removed", r)
			}
			if err != nil {
				return fmt.Errorf("cleanup: %w", err)
			}
			if len(removed) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to clean up")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&provider, "cluster", "netns", "cluster provider")
	cmd.Flags().BoolVar(&all, "all", false, "also remove runs whose owner process is still alive (existing: every run's namespaces, from any machine)")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of an existing cluster (--cluster existing; default $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&kubeContext, "context", "", "kubeconfig context of an existing cluster (default: the current one)")
	return cmd
}
