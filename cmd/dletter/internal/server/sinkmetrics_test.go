package server_test

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// scrape fetches /metrics and parses it.
func (e *env) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	r := e.do("GET", "/metrics", "")
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /metrics: %d", r.status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		e.t.Fatalf("parse /metrics: %v\n%s", err, r.body)
	}
	return families
}

// sample returns the value of the sample of family whose labels are
// exactly labels (name=value pairs), and whether there is one.
func sample(families map[string]*dto.MetricFamily, family string, labels ...string) (float64, bool) {
	f := families[family]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels)/2 {
			continue
		}
		match := true
		for i, l := range m.GetLabel() {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// TestSinkMetrics: after traffic that opens one sink's circuit, queues
// messages for it, makes another wait for its rate limit and holds one of
// its sends, /metrics has every sink's queued, in-flight, circuit-state and
// rate-limited-waits series with those values, of the right types.
func TestSinkMetrics(t *testing.T) {
	e := setup(t, setupOpts{async: true, retry: map[string]any{"max_attempts": 1}, delivery: map[string]any{
		"per_sink": map[string]any{"other": map[string]any{"rate": 2, "burst": 1}},
	}})
	// hook: 5 failures open its circuit; 2 async messages wait for it.
	e.hook.Fail.Store(true)
	for range 5 {
		e.do("POST", "/v1/sinks/hook/messages", `{"body":"{}"}`)
	}
	e.hook.Fail.Store(false)
	for range 2 {
		if r := e.do("POST", "/v1/sinks/hook/messages", `{"body":"{}","async":true}`); r.status != http.StatusAccepted {
			t.Fatalf("async send: %d %s", r.status, r.body)
		}
	}
	// other: at 2/s with a burst of 1, the second send waits half a second
	// for its token, and so does the third, held one.
	for range 2 {
		if r := e.do("POST", "/v1/sinks/other/messages", `{"body":"{}"}`); r.status != http.StatusOK {
			t.Fatalf("send to other: %d %s", r.status, r.body)
		}
	}
	// other: one send held by the receiver.
	e.hook.Hold()
	done := make(chan int, 1)
	go func() {
		res, err := http.Post(e.srv.URL+"/v1/sinks/other/messages", "application/json", strings.NewReader(`{"body":"{}"}`))
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	testenv.WaitFor(t, "the held send", func() bool { return e.hook.InFlight() == 1 })

	m := e.scrape()
	e.hook.Release()
	if code := <-done; code != http.StatusOK {
		t.Fatalf("held send answered %d", code)
	}
	for _, c := range []struct {
		family string
		labels []string
		want   func(float64) bool
		says   string
	}{
		{"dletter_sink_queued", []string{"sink", "hook"}, eq(2), "2"},
		{"dletter_sink_queued", []string{"sink", "other"}, eq(0), "0"},
		{"dletter_async_pending", nil, eq(2), "2"},
		{"dletter_sink_in_flight", []string{"sink", "hook"}, eq(0), "0"},
		{"dletter_sink_in_flight", []string{"sink", "other"}, eq(1), "1"},
		{"dletter_sink_circuit_state", []string{"sink", "hook", "state", "open"}, eq(1), "1"},
		{"dletter_sink_circuit_state", []string{"sink", "hook", "state", "closed"}, eq(0), "0"},
		{"dletter_sink_circuit_state", []string{"sink", "hook", "state", "half-open"}, eq(0), "0"},
		{"dletter_sink_circuit_state", []string{"sink", "other", "state", "closed"}, eq(1), "1"},
		{"dletter_sink_circuit_state", []string{"sink", "other", "state", "open"}, eq(0), "0"},
		{"dletter_sink_rate_limited_waits_total", []string{"sink", "hook"}, eq(0), "0"},
		{"dletter_sink_rate_limited_waits_total", []string{"sink", "other"}, eq(2), "2"},
	} {
		v, ok := sample(m, c.family, c.labels...)
		if !ok || !c.want(v) {
			t.Errorf("%s%v = %v (present %v), want %s", c.family, c.labels, v, ok, c.says)
		}
	}
	for family, typ := range map[string]dto.MetricType{
		"dletter_sink_queued": dto.MetricType_GAUGE, "dletter_sink_in_flight": dto.MetricType_GAUGE,
		"dletter_sink_circuit_state": dto.MetricType_GAUGE, "dletter_sink_rate_limited_waits_total": dto.MetricType_COUNTER,
		"dletter_async_pending": dto.MetricType_GAUGE,
	} {
		if f := m[family]; f == nil || f.GetType() != typ {
			t.Errorf("%s: type %v, want %v", family, f.GetType(), typ)
		}
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
