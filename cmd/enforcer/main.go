package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netpolcheck/netpolcheck/reference/enforcer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "enforcer:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		nodeName        = flag.String("node-name", os.Getenv("NODE_NAME"), "node whose pods are enforced (default $NODE_NAME)")
		kubeconfig      = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file; empty means in-cluster config")
		minSyncInterval = flag.Duration("min-sync-interval", 200*time.Millisecond, "minimum time between two syncs (coalesces bursts of events)")
		resyncPeriod    = flag.Duration("resync-period", 60*time.Second, "full resync period (re-lists chains, repairs jumps)")
		denyAction      = flag.String("deny-action", string(enforcer.DenyReject), "end of isolated pods' chains: reject (ICMP admin-prohibited) or drop")
		backend         = flag.String("iptables-backend", string(enforcer.BackendAuto), "auto (the backend holding the host's rules), legacy, nft or default")
		netnsPath       = flag.String("netns", "", "run iptables inside this network namespace (e.g. /run/netns/NAME)")
		metricsAddr     = flag.String("metrics-bind-address", ":9103", "address for /metrics, /healthz and /readyz; empty disables")
		cleanup         = flag.Bool("cleanup", false, "remove every jump and chain the enforcer owns, then exit")
		printManifests  = flag.String("print-manifests", "", "print the deployment manifests for this image, then exit")
		logFormat       = flag.String("log-format", "text", "text or json")
		ipFamilies      = flag.String("ip-families", "", "comma-separated ipv4,ipv6 (default: both, IPv6 skipped where the kernel lacks it)")
	)
	flag.Parse()

	var handler slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if *logFormat == "json" {
		handler = slog.NewJSONHandler(os.Stderr, nil)
	}
	log := slog.New(handler)

	if *printManifests != "" {
		text, err := enforcer.Manifests(enforcer.ManifestOptions{Image: *printManifests, DenyAction: enforcer.DenyAction(*denyAction)})
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(text)
		return err
	}
	deny, err := enforcer.ParseDenyAction(*denyAction)
	if err != nil {
		return err
	}
	be, err := enforcer.ParseBackend(*backend)
	if err != nil {
		return err
	}
	var familyOpts []enforcer.Option
	if *ipFamilies != "" {
		families, err := enforcer.ParseIPFamilies(strings.Split(*ipFamilies, ","))
		if err != nil {
			return err
		}
		familyOpts = append(familyOpts, enforcer.WithIPFamilies(families...))
	}
	opts := []enforcer.Option{
		enforcer.WithNodeName(*nodeName),
		enforcer.WithMinSyncInterval(*minSyncInterval),
		enforcer.WithResyncPeriod(*resyncPeriod),
		enforcer.WithDenyAction(deny),
		enforcer.WithBackend(be),
		enforcer.WithNetNS(*netnsPath),
		enforcer.WithLogger(log),
	}
	opts = append(opts, familyOpts...)

	// SIGTERM stops the loop without flushing: the rules stay until --cleanup.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if *cleanup {
		if err := enforcer.Cleanup(ctx, opts...); err != nil {
			return err
		}
		log.Info("removed every chain and jump of the enforcer")
		return nil
	}

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	e, err := enforcer.New(client, opts...)
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		srv := &http.Server{Addr: *metricsAddr, Handler: e.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "err", err)
			}
		}()
		defer srv.Close()
	}
	return e.Run(ctx)
}
