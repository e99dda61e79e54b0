package enforcer

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live in a registry per Enforcer, so several instances (one per node
// namespace in the netns cluster) can share a process.
type metrics struct {
	registry     *prometheus.Registry
	syncs        *prometheus.CounterVec
	syncDuration prometheus.Histogram
	writes       *prometheus.CounterVec
	rules        *prometheus.GaugeVec
	lastSuccess  prometheus.Gauge
}

func newMetrics(nodeName string) *metrics {
	labels := prometheus.Labels{"node": nodeName}
	m := &metrics{
		registry: prometheus.NewRegistry(),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netpolcheck_enforcer_syncs_total", Help: "Syncs by result (success or failure).", ConstLabels: labels,
		}, []string{"result"}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "netpolcheck_enforcer_sync_duration_seconds", Help: "Time to render and apply one sync.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netpolcheck_enforcer_restores_total", Help: "iptables-restore runs that changed the rules, by family.", ConstLabels: labels,
		}, []string{"family"}),
		rules: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "netpolcheck_enforcer_rules_rendered", Help: "Rules in the last rendered ruleset, by family.", ConstLabels: labels,
		}, []string{"family"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "netpolcheck_enforcer_last_success_timestamp_seconds", Help: "Unix time of the last successful sync.", ConstLabels: labels,
		}),
	}
	m.registry.MustRegister(m.syncs, m.syncDuration, m.writes, m.rules, m.lastSuccess,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics, /healthz (the process and its sync loop are alive)
// and /readyz (the last sync succeeded).
func (e *Enforcer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(e.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !e.Ready() {
			http.Error(w, "not ready: no successful sync yet, or the last one failed", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

// Registry exposes the Prometheus registry (for embedding in another server).
func (e *Enforcer) Registry() *prometheus.Registry { return e.metrics.registry }
