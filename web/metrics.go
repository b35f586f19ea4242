package web

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus instruments, on a registry of its own
// so that several servers (in tests) never share counters.
type metrics struct {
	reg         *prometheus.Registry
	started     *prometheus.CounterVec
	finished    *prometheus.CounterVec
	running     prometheus.Gauge
	subscribers prometheus.Gauge
	eventsSent  prometheus.Counter
	cutOff      *prometheus.CounterVec
	limitsHit   *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seqd_sessions_started_total", Help: "Sessions started, by scenario.",
		}, []string{"scenario"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seqd_sessions_finished_total", Help: "Sessions finished, by scenario and state (done or failed).",
		}, []string{"scenario", "state"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "seqd_sessions_running", Help: "Sessions running now.",
		}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "seqd_subscribers", Help: "WebSocket viewers connected now.",
		}),
		eventsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "seqd_events_sent_total", Help: "Events delivered to WebSocket viewers (one per viewer).",
		}),
		cutOff: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seqd_subscribers_cut_off_total", Help: "Viewers cut off, by reason (too_slow, write_timeout, ping).",
		}, []string{"reason"}),
		limitsHit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seqd_limits_hit_total", Help: "Requests refused by a limit, by limit.",
		}, []string{"limit"}),
	}
	m.reg.MustRegister(m.started, m.finished, m.running, m.subscribers, m.eventsSent, m.cutOff, m.limitsHit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
