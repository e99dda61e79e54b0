// Command nodeimage builds netpolcheck's offline kind node image (make
// kind-node-image) and starts or stops the Docker engine it needs. The work
// lives in packages clusters/nodeimage and clusters/docker.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/clusters/docker"
	"github.com/netpolcheck/netpolcheck/clusters/nodeimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nodeimage:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:           "nodeimage",
		Short:         "Build the offline kind node image and run the Docker engine it needs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log details to stderr")
	logger := func() *slog.Logger {
		w := io.Discard
		if verbose {
			w = os.Stderr
		}
		return slog.New(slog.NewTextHandler(w, nil))
	}
	root.AddCommand(newBuildCommand(logger), newEngineCommand(logger))
	return root
}

func newBuildCommand(logger func() *slog.Logger) *cobra.Command {
	var image, cacheDir, mirror string
	var force bool
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the node image unless one with the same inputs exists",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out, log := cmd.Context(), cmd.OutOrStdout(), logger()
			start := time.Now()
			engine, err := docker.Ensure(ctx, docker.WithLogger(log))
			if err != nil {
				return err
			}
			how := "already running"
			if engine.Started() {
				how = fmt.Sprintf("started dockerd (shim %v); stop it with: go run ./clusters/nodeimage/cmd/nodeimage engine stop", engine.Shimmed())
			}
			fmt.Fprintf(out, "nodeimage: %-11s %8s  %s\n", "engine", time.Since(start).Round(100*time.Millisecond), how)
			res, err := nodeimage.Build(ctx,
				nodeimage.WithImage(image), nodeimage.WithCacheDir(cacheDir), nodeimage.WithMirror(mirror),
				nodeimage.WithForce(force), nodeimage.WithProgress(out), nodeimage.WithLogger(log))
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "nodeimage: %s (%.0f MB) ready in %s\n", res.Image, float64(res.Size)/1e6, time.Since(start).Round(time.Second))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&image, "image", nodeimage.DefaultImage, "name of the node image")
	f.StringVar(&cacheDir, "cache-dir", nodeimage.DefaultCacheDir, "where binaries, root filesystems and tarballs are cached")
	f.StringVar(&mirror, "mirror", nodeimage.DefaultMirror, "Debian mirror for debootstrap")
	f.BoolVar(&force, "force", false, "rebuild the image even if its inputs are unchanged (caches are still used)")
	return cmd
}

func newEngineCommand(logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{Use: "engine", Short: "Start or stop the Docker engine this tool manages"}
	cmd.AddCommand(&cobra.Command{
		Use:   "start",
		Short: "Make sure a Docker engine answers; start Debian's dockerd if none does",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := docker.Ensure(cmd.Context(), docker.WithLogger(logger()))
			if err != nil {
				return err
			}
			if e.Started() {
				fmt.Fprintf(cmd.OutOrStdout(), "started dockerd (data root %s, shim %v)\n", docker.DefaultDataRoot, e.Shimmed())
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "a docker engine already answers; left alone")
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "stop",
		Short: "Stop the dockerd that engine start or build started (never another engine)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return docker.Stop(cmd.Context(), docker.WithLogger(logger()))
		},
	})
	return cmd
}
