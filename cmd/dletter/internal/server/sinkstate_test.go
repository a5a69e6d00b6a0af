package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// sinksPage is the body of GET /v1/sinks.
type sinksPage struct {
	Sinks []relay.SinkCount `json:"sinks"`
}

// sinkState returns the row of GET /v1/sinks for sink.
func (e *env) sinkState(sink string) relay.SinkCount {
	e.t.Helper()
	var page sinksPage
	r := e.do("GET", "/v1/sinks", "")
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /v1/sinks: %d %s", r.status, r.body)
	}
	r.json(e.t, &page)
	for _, row := range page.Sinks {
		if row.Sink == sink {
			if row.SinkDelivery == nil {
				e.t.Fatalf("GET /v1/sinks: %s has no delivery state: %s", sink, r.body)
			}
			return row
		}
	}
	e.t.Fatalf("GET /v1/sinks has no %s: %s", sink, r.body)
	return relay.SinkCount{}
}

// circuitSetup is a daemon's Core whose sink hook has the default circuit
// (5 failures, 30s) and sends once; other opens after one failure for a
// moment, and has its own limits.
func circuitSetup(t *testing.T) *env {
	return setup(t, setupOpts{async: true, retry: map[string]any{"max_attempts": 1}, delivery: map[string]any{
		"per_sink": map[string]any{"other": map[string]any{"concurrency": 3, "rate": 50,
			"circuit": map[string]any{"failures": 1, "cooldown": "1ms"}}},
	}})
}

// TestSinkStateInAPIAndConsole: GET /v1/sinks and the console's overview
// show each sink's kind, circuit (closed, open until, half-open), async
// backlog, sends in flight and limits.
func TestSinkStateInAPIAndConsole(t *testing.T) {
	e := circuitSetup(t)
	hook := e.sinkState("hook")
	if hook.Kind != "webhook" || hook.Circuit != "closed" || hook.Queued != 0 || hook.InFlight != 0 || !hook.NextProbe.IsZero() ||
		hook.Limits != (relay.DeliveryLimits{Concurrency: 16, Circuit: relay.CircuitLimits{Failures: 5, Cooldown: "30s"}}) {
		t.Fatalf("hook at rest: %+v %+v", hook, *hook.SinkDelivery)
	}
	if other := e.sinkState("other"); other.Limits != (relay.DeliveryLimits{Concurrency: 3, Rate: 50, Burst: 50,
		Circuit: relay.CircuitLimits{Failures: 1, Cooldown: "1ms"}}) {
		t.Fatalf("other's limits: %+v", other.Limits)
	}

	// Open hook's circuit; queue a message for it.
	e.hook.Fail.Store(true)
	for range 5 {
		e.do("POST", "/v1/sinks/hook/messages", `{"body":"{}"}`)
	}
	if r := e.do("POST", "/v1/sinks/hook/messages", `{"body":"{}","async":true}`); r.status != http.StatusAccepted {
		t.Fatalf("async send: %d %s", r.status, r.body)
	}
	hook = e.sinkState("hook")
	if hook.Circuit != "open" || hook.ConsecutiveFailures != 5 || hook.Queued != 1 ||
		time.Until(hook.NextProbe) <= 0 || time.Until(hook.NextProbe) > 30*time.Second {
		t.Fatalf("hook with its circuit open: %+v", *hook.SinkDelivery)
	}
	page := e.do("GET", "/", "")
	row := between(page.body, `<tr id="sink-hook">`, "</tr>")
	want := "open until " + hook.NextProbe.UTC().Format("15:04:05") + " UTC"
	if page.status != 200 || !strings.Contains(row, want) || !strings.Contains(row, `class="circuit open"`) ||
		!strings.Contains(row, "<strong>1</strong>") || !strings.Contains(row, "0 / 16") || !strings.Contains(row, "webhook") {
		t.Fatalf("overview row of hook, want %q:\n%s", want, row)
	}
	if row := between(page.body, `<tr id="sink-other">`, "</tr>"); !strings.Contains(row, `class="circuit closed"`) || !strings.Contains(row, "0 / 3") {
		t.Fatalf("overview row of other:\n%s", row)
	}

	// other opens after one failure, for 1ms: then it is half-open.
	e.do("POST", "/v1/sinks/other/messages", `{"body":"{}"}`)
	testenv.WaitFor(t, "other's circuit to be half-open", func() bool { return e.sinkState("other").Circuit == "half-open" })
	if row := between(e.do("GET", "/", "").body, `<tr id="sink-other">`, "</tr>"); !strings.Contains(row, `class="circuit half-open"`) ||
		!strings.Contains(row, ">half-open<") {
		t.Fatalf("overview row of other, half-open:\n%s", row)
	}
}

// TestOverviewWithoutDeliveryEngine: a Core without a Dispatcher (the
// commands' local access) has no delivery state: the API omits it and the
// console shows no such columns.
func TestOverviewWithoutDeliveryEngine(t *testing.T) {
	e := setup(t, setupOpts{})
	r := e.do("GET", "/v1/sinks", "")
	if r.status != 200 || strings.Contains(r.body, "circuit") || !strings.Contains(r.body, `"kind": "webhook"`) {
		t.Fatalf("GET /v1/sinks: %d %s", r.status, r.body)
	}
	if page := e.do("GET", "/", ""); page.status != 200 || strings.Contains(page.body, "In flight") {
		t.Fatalf("overview: %d %s", page.status, page.body)
	}
}

// between returns the part of s from the first from to the next to.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}
