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
	var provider string
	var all bool
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what earlier runs left behind (network namespaces, links, agents, run directories)",
		Long: `cleanup removes the leftovers of runs that did not destroy their cluster,
for example after kill -9: agent processes, network namespaces and links whose
names start with the run prefix ("npc-"), and /run/netpolcheck/<run>.
Runs whose owner process is still alive are kept unless --all is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			removed, err := clusters.Cleanup(cmd.Context(), provider, all)
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
	cmd.Flags().BoolVar(&all, "all", false, "also remove runs whose owner process is still alive")
	return cmd
}
