package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

func init() { subcommands = append(subcommands, newRunCommand) }

type runFlags struct {
	cluster      string
	enforcer     string
	focus        string
	labelFilter  string
	deadline     time.Duration
	probeTimeout time.Duration
	results      string
	denyAction   string
	nodes        int
	list         bool
}

func newRunCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the case library against a cluster and compare every cell with the spec model",
		Long: `run creates a cluster, installs the enforcer under test, and runs every
selected case: each step's actions, then rounds of probes until the observed
matrix matches the model's truth table (or the deadline passes). A live
progress line goes to stderr; each failed case prints its expected, observed
and comparison grids with the model's reasons on stdout. The exit code is 1
when a case fails.

The netns cluster needs root. Without --deadline, steps get 10s with an
enforcer and 1s with --enforcer none (nothing will ever change then).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("deadline") && f.enforcer == clusters.EnforcerNone {
				f.deadline = time.Second
			}
			return runCases(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cluster, "cluster", "netns", "cluster provider: "+strings.Join(clusters.Providers(), ", "))
	fl.StringVar(&f.enforcer, "enforcer", clusters.EnforcerReference, "enforcer under test: reference or none")
	fl.StringVar(&f.focus, "focus", "", "run only cases whose name matches this regular expression")
	fl.StringVar(&f.labelFilter, "label-filter", "", `run only cases whose labels match this Ginkgo label filter, e.g. "ingress && !sctp"`)
	fl.DurationVar(&f.deadline, "deadline", runner.DefaultDeadline, "how long a step may take to converge")
	fl.DurationVar(&f.probeTimeout, "probe-timeout", runner.DefaultProbeTimeout, "timeout of each probe")
	fl.StringVar(&f.results, "results", "", "write one JSON result per case to this file")
	fl.IntVar(&f.nodes, "nodes", 2, "nodes of a cluster the provider builds")
	fl.StringVar(&f.denyAction, "deny-action", "reject", "how the reference enforcer denies: reject (probes fail fast) or drop (probes time out)")
	fl.BoolVar(&f.list, "list", false, "list the selected cases and their labels, run nothing")
	return cmd
}

func runCases(ctx context.Context, f runFlags, stdout, stderr io.Writer) error {
	if !slices.Contains(clusters.Providers(), f.cluster) {
		return badInput(fmt.Errorf("--cluster %q: available providers: %s", f.cluster, strings.Join(clusters.Providers(), ", ")))
	}
	if f.enforcer != clusters.EnforcerReference && f.enforcer != clusters.EnforcerNone {
		return badInput(fmt.Errorf("--enforcer %q: want %s or %s", f.enforcer, clusters.EnforcerReference, clusters.EnforcerNone))
	}
	if f.denyAction != "reject" && f.denyAction != "drop" {
		return badInput(fmt.Errorf("--deny-action %q: want reject or drop", f.denyAction))
	}
	if f.deadline <= 0 || f.probeTimeout <= 0 || f.nodes < 1 {
		return badInput(errors.New("--deadline, --probe-timeout and --nodes must be positive"))
	}
	selected, err := runner.Select(cases.All(), f.focus, f.labelFilter)
	if err != nil {
		return badInput(err)
	}
	if len(selected) == 0 {
		return badInput(fmt.Errorf("no case matches --focus %q --label-filter %q", f.focus, f.labelFilter))
	}
	if f.list {
		for _, c := range selected {
			fmt.Fprintf(stdout, "%s  [%s]\n", c.Name, strings.Join(runner.Labels(c), ", "))
		}
		return nil
	}
	var results *os.File
	if f.results != "" {
		if results, err = os.Create(f.results); err != nil {
			return badInput(fmt.Errorf("--results: %w", err))
		}
		defer results.Close()
	}

	// Ctrl-C stops the run but still destroys the cluster.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	progress := newProgress(stderr, len(selected))
	progress.status("creating %s cluster", f.cluster)
	cluster, err := clusters.Create(ctx, f.cluster, clusters.WithNodes(f.nodes), clusters.WithDenyAction(f.denyAction))
	if err != nil {
		progress.clear()
		return err
	}
	defer func() {
		progress.status("destroying cluster %s", cluster.Name())
		if err := cluster.Destroy(context.WithoutCancel(ctx)); err != nil {
			progress.clear()
			fmt.Fprintln(stderr, "netpolcheck:", err)
		}
		progress.clear()
	}()
	progress.status("installing the %s enforcer", f.enforcer)
	if err := cluster.InstallEnforcer(ctx, f.enforcer); err != nil {
		progress.clear()
		return err
	}

	r := runner.New(cluster, runner.WithDeadline(f.deadline), runner.WithProbeTimeout(f.probeTimeout))
	start := time.Now()
	var failedNames []string
	infra := 0
	for i, c := range selected {
		if ctx.Err() != nil {
			break
		}
		progress.caseStarts(i, len(failedNames), c.Name)
		res := r.Run(ctx, c)
		if ctx.Err() != nil {
			// Interrupted mid-case: its result says nothing about the enforcer.
			break
		}
		if results != nil {
			line, err := json.Marshal(res)
			if err == nil {
				_, err = fmt.Fprintf(results, "%s\n", line)
			}
			if err != nil {
				progress.clear()
				return fmt.Errorf("write --results: %w", err)
			}
		}
		if !res.Passed {
			failedNames = append(failedNames, c.Name)
			if res.Error != "" {
				infra++
			}
			progress.clear()
			fmt.Fprintln(stdout, runner.Describe(res))
		}
	}
	progress.clear()
	ran := len(selected)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %s", time.Since(start).Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "%d cases: %d passed, %d failed (%d infrastructure errors) in %s on %s with enforcer %s\n",
		ran, ran-len(failedNames), len(failedNames), infra, time.Since(start).Round(time.Millisecond), cluster.Name(), f.enforcer)
	if len(failedNames) > 0 {
		for _, name := range failedNames {
			fmt.Fprintln(stdout, "  FAIL", name)
		}
		return failed(fmt.Errorf("%d of %d cases failed", len(failedNames), ran))
	}
	return nil
}
