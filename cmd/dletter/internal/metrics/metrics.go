// Package metrics holds the daemon's Prometheus metrics. Labels carry sink
// names and fixed outcome words only: never a recipient, a URL or an error
// text, which could hold a secret and would explode cardinality.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dletter/dletter/sinks"
)

// Outcomes of a delivery, the values of the "outcome" label.
const (
	Delivered    = "delivered"     // the sink took the message
	DeadLettered = "dead_lettered" // parked in the DLQ
	Failed       = "failed"        // neither delivered nor parked (DLQ push failed)
	Queued       = "queued"        // accepted into the async log
)

// StatsFunc reports the DLQ's statistics at scrape time.
type StatsFunc func(ctx context.Context) (sinks.Stats, error)

// StatesFunc reports the async delivery state of every sink at scrape time
// (a *sinks.Dispatcher's States).
type StatesFunc func() []sinks.SinkState

// Metrics is the daemon's set of collectors on its own registry.
type Metrics struct {
	reg *prometheus.Registry

	deliveries   *prometheus.CounterVec
	attempts     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	redeliveries *prometheus.CounterVec
	redriveItems *prometheus.CounterVec
	redrives     prometheus.Gauge
	auditErrors  prometheus.Counter
	timeline     *Timeline
}

// New builds the metrics. stats feeds the DLQ depth per sink and the items
// dropped by caps; states, when not nil, each sink's async backlog, sends
// in flight, circuit state and rate-limited waits.
func New(stats StatsFunc, states StatesFunc) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dletter_deliveries_total",
			Help: "Messages handled, by sink and outcome (delivered, dead_lettered, failed, queued). An async message counts twice: queued when accepted, then delivered or dead_lettered when its delivery ends.",
		}, []string{"sink", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dletter_delivery_attempts_total",
			Help: "Send calls made to sinks, by sink and result (success, failure).",
		}, []string{"sink", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dletter_delivery_attempt_duration_seconds",
			Help:    "Duration of one Send call to a sink.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"sink"}),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dletter_dlq_replays_total",
			Help: "Operator redeliveries of single DLQ items (dletter dlq replay), by sink and outcome (delivered, failed).",
		}, []string{"sink", "outcome"}),
		redriveItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dletter_redrive_items_total",
			Help: "Items processed by redrives, by outcome (delivered, failed).",
		}, []string{"outcome"}),
		redrives: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dletter_redrives_running",
			Help: "Redrives in progress.",
		}),
		auditErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dletter_audit_write_errors_total",
			Help: "Audit entries that could not be written.",
		}),
		timeline: NewTimeline(),
	}
	m.reg.MustRegister(m.deliveries, m.attempts, m.latency, m.redeliveries, m.redriveItems, m.redrives, m.auditErrors,
		goCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.reg.MustRegister(&dlqCollector{stats: stats})
	}
	if states != nil {
		m.reg.MustRegister(&sinkCollector{states: states})
	}
	return m
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Timeline returns the per-minute and per-hour counts of deliveries and
// dead letters that Observe keeps for the console's charts; nil for a nil
// *Metrics.
func (m *Metrics) Timeline() *Timeline {
	if m == nil {
		return nil
	}
	return m.timeline
}

// Handler serves the metrics in the Prometheus text format, or in
// OpenMetrics when the scraper's Accept header asks for it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Delivery counts a handled message.
func (m *Metrics) Delivery(sink, outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(sink, outcome).Inc()
	}
}

// Attempt records one Send call and, when known (d > 0), its duration.
func (m *Metrics) Attempt(sink string, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "failure"
	}
	m.attempts.WithLabelValues(sink, result).Inc()
	if d > 0 {
		m.latency.WithLabelValues(sink).Observe(d.Seconds())
	}
}

// Redeliver counts an operator's redelivery of one item (relay.Relay.Redeliver).
func (m *Metrics) Redeliver(sink string, err error) {
	if m == nil {
		return
	}
	outcome := Delivered
	if err != nil {
		outcome = Failed
	}
	m.redeliveries.WithLabelValues(sink, outcome).Inc()
}

// RedriveItems adds to the items processed by redrives.
func (m *Metrics) RedriveItems(delivered, failed int) {
	if m == nil {
		return
	}
	m.redriveItems.WithLabelValues(Delivered).Add(float64(delivered))
	m.redriveItems.WithLabelValues(Failed).Add(float64(failed))
}

// RedriveRunning moves the gauge of running redrives by delta.
func (m *Metrics) RedriveRunning(delta int) {
	if m != nil {
		m.redrives.Add(float64(delta))
	}
}

// AuditError counts an audit entry that could not be written.
func (m *Metrics) AuditError() {
	if m != nil {
		m.auditErrors.Inc()
	}
}

// dlqCollector reads the DLQ's Stats at scrape time.
type dlqCollector struct{ stats StatsFunc }

var (
	depthDesc   = prometheus.NewDesc("dletter_dlq_items", "Items in the DLQ, by sink.", []string{"sink"}, nil)
	droppedDesc = prometheus.NewDesc("dletter_dlq_dropped_total", "Items the DLQ removed because of a cap (lost).", nil, nil)
	bytesDesc   = prometheus.NewDesc("dletter_dlq_bytes", "Storage used by the DLQ, when known.", nil, nil)
	upDesc      = prometheus.NewDesc("dletter_dlq_up", "1 when the DLQ answered the last scrape, 0 when it failed.", nil, nil)
)

func (c *dlqCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- depthDesc
	ch <- droppedDesc
	ch <- bytesDesc
	ch <- upDesc
}

func (c *dlqCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1)
	for sink, n := range st.BySink {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n), sink)
	}
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(st.Dropped))
	if st.Bytes >= 0 {
		ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.GaugeValue, float64(st.Bytes))
	}
}

// sinkCollector reads the sinks' delivery state at scrape time.
type sinkCollector struct{ states StatesFunc }

var (
	pendingDesc = prometheus.NewDesc("dletter_async_pending",
		"Messages accepted with async=true and not yet delivered or dead-lettered, all sinks together.", nil, nil)
	queuedDesc = prometheus.NewDesc("dletter_sink_queued",
		"Messages queued for async delivery, by sink (those in flight included).", []string{"sink"}, nil)
	inFlightDesc = prometheus.NewDesc("dletter_sink_in_flight",
		"Sends under way, synchronous and async, by sink.", []string{"sink"}, nil)
	circuitDesc = prometheus.NewDesc("dletter_sink_circuit_state",
		"1 for the state the sink's circuit breaker is in (closed, open, half-open), 0 for the others.", []string{"sink", "state"}, nil)
	rateWaitsDesc = prometheus.NewDesc("dletter_sink_rate_limited_waits_total",
		"Sends that waited for the sink's rate limit.", []string{"sink"}, nil)
)

func (c *sinkCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pendingDesc, queuedDesc, inFlightDesc, circuitDesc, rateWaitsDesc} {
		ch <- d
	}
}

func (c *sinkCollector) Collect(ch chan<- prometheus.Metric) {
	var pending int64
	for _, st := range c.states() {
		if st.Queued >= 0 {
			pending += st.Queued
			ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(st.Queued), st.Sink)
		}
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(st.InFlight), st.Sink)
		for _, s := range []sinks.CircuitState{sinks.CircuitClosed, sinks.CircuitOpen, sinks.CircuitHalfOpen} {
			v := 0.0
			if st.Circuit == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(circuitDesc, prometheus.GaugeValue, v, st.Sink, s.String())
		}
		ch <- prometheus.MustNewConstMetric(rateWaitsDesc, prometheus.CounterValue, float64(st.RateLimitedWaits), st.Sink)
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
}

// Observe is a sinks.Observer: it counts each Send call a Retrier makes and
// its duration, and in the Timeline each delivery and dead letter. The end
// of an async delivery (an event of the Dispatcher, e.Async) also counts in
// dletter_deliveries_total, as delivered or dead_lettered; a synchronous
// send is counted there by its caller (Delivery), which also sees the sends
// that fail before any event. Attach it with sinks.WithObserver.
func (m *Metrics) Observe(e sinks.Event) {
	switch e.Kind {
	case sinks.EventSuccess:
		m.Attempt(e.Sink, e.Elapsed, nil)
		m.Timeline().Delivered(e.Sink)
		if e.Async {
			m.Delivery(e.Sink, Delivered)
		}
	case sinks.EventFailure:
		m.Attempt(e.Sink, e.Elapsed, e.Err)
	case sinks.EventDeadLettered:
		m.Timeline().DeadLettered(e.Sink)
		if e.Async {
			m.Delivery(e.Sink, DeadLettered)
		}
	}
}
