package server_test

import (
	"net/http"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// TestAsyncOutcomesCountInDeliveries: dletter_deliveries_total counts an
// async message queued when it is accepted, then delivered or
// dead_lettered when the Dispatcher ends it, once each; synchronous sends
// count once.
func TestAsyncOutcomesCountInDeliveries(t *testing.T) {
	e := setup(t, setupOpts{async: true, retry: map[string]any{"max_attempts": 1}})
	if err := e.core.Dispatcher.Start(); err != nil {
		t.Fatal(err)
	}
	deliveries := func(outcome string) float64 {
		v, _ := sample(e.scrape(), "dletter_deliveries_total", "outcome", outcome, "sink", "hook")
		return v
	}
	send := func(body string, want int) {
		t.Helper()
		if r := e.do("POST", "/v1/sinks/hook/messages", body); r.status != want {
			t.Fatalf("send %s: %d %s, want %d", body, r.status, r.body, want)
		}
	}

	send(`{"body":"{}"}`, http.StatusOK)
	for range 3 {
		send(`{"body":"{}","async":true}`, http.StatusAccepted)
	}
	testenv.WaitFor(t, "4 deliveries counted", func() bool { return deliveries("delivered") >= 4 })

	// A receiver that answers 410: the message is dead-lettered at once.
	e.hook.FailStatus.Store(http.StatusGone)
	e.hook.Fail.Store(true)
	send(`{"body":"{}"}`, http.StatusAccepted)
	send(`{"body":"{}","async":true}`, http.StatusAccepted)
	testenv.WaitFor(t, "2 dead letters counted", func() bool { return deliveries("dead_lettered") >= 2 })
	testenv.WaitFor(t, "the async queue to empty", func() bool {
		v, _ := sample(e.scrape(), "dletter_async_pending")
		return v == 0
	})

	m := e.scrape()
	for outcome, want := range map[string]float64{"delivered": 4, "dead_lettered": 2, "queued": 4} {
		if v, _ := sample(m, "dletter_deliveries_total", "outcome", outcome, "sink", "hook"); v != want {
			t.Errorf("dletter_deliveries_total{outcome=%q} = %v, want %v", outcome, v, want)
		}
	}
	if v, ok := sample(m, "dletter_deliveries_total", "outcome", "failed", "sink", "hook"); ok {
		t.Errorf("dletter_deliveries_total{outcome=\"failed\"} = %v, want none", v)
	}
	if v, _ := sample(m, "dletter_delivery_attempts_total", "result", "success", "sink", "hook"); v != 4 {
		t.Errorf("successful attempts = %v, want 4", v)
	}
}
