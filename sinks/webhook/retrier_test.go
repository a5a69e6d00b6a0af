package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/internal/sinktest"
	"github.com/dletter/dletter/sinks/webhook"
)

// A 503 whose Retry-After is an HTTP date drives the Retrier's wait, and
// every attempt carries the same webhook-id, freshly signed.
func TestRetrierRetryAfterAndStableID(t *testing.T) {
	clock := sinktest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	var calls atomic.Int32
	srv := httpsinktest.NewServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", clock.Now().Add(20*time.Second).Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	s := newSink(t, webhook.Config{URL: srv.URL, Secret: vectorSecret, Now: clock.Now})
	r := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 3, BaseBackoff: time.Second, MaxBackoff: time.Minute},
		sinks.NewMemoryDLQ(), sinks.WithClock(clock), sinks.WithRandom(func() float64 { return 0.5 }))

	if err := r.Send(context.Background(), nil, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if got, want := clock.Sleeps(), []time.Duration{20 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	first, second := srv.Next(t), srv.Next(t)
	id := first.Header.Get("Webhook-Id")
	if id == "" || second.Header.Get("Webhook-Id") != id {
		t.Fatalf("webhook-id changed across retries: %q, %q", id, second.Header.Get("Webhook-Id"))
	}
	if first.Header.Get("Webhook-Timestamp") == second.Header.Get("Webhook-Timestamp") {
		t.Error("each attempt must carry its own timestamp")
	}
	for _, req := range []httpsinktest.Request{first, second} {
		if err := verify(vectorSecret, id, req.Header.Get("Webhook-Timestamp"), req.Header.Get("Webhook-Signature"), []byte(req.Body)); err != nil {
			t.Fatal(err)
		}
	}
}

// 410 parks the message at once as "endpoint gone", with the URL's
// credentials redacted from the DLQ item.
func TestRetrierGoneIsTerminal(t *testing.T) {
	srv := httpsinktest.NewServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	clock := sinktest.NewClock(time.Unix(0, 0))
	s := newSink(t, webhook.Config{URL: srv.URL + "/in?token=s3cr3t"})
	dlq := sinks.NewMemoryDLQ()
	r := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 5}, dlq, sinks.WithClock(clock))
	err := r.Send(context.Background(), nil, sinks.Message{Subject: "x"})
	if !errors.Is(err, sinks.ErrDeadLettered) {
		t.Fatalf("want dead-lettered, got %v", err)
	}
	items, _ := dlq.Items(context.Background(), "", 10)
	if len(items) != 1 || items[0].Attempts != 1 || len(clock.Sleeps()) != 0 {
		t.Fatalf("items %+v, sleeps %v", items, clock.Sleeps())
	}
	if le := items[0].LastError; !strings.Contains(le, "endpoint gone") || strings.Contains(le, "s3cr3t") {
		t.Fatalf("LastError %q", le)
	}
	// The id the Retrier minted is the webhook-id the receiver saw, so a
	// replay of the item carries it again.
	if got := srv.Next(t).Header.Get("Webhook-Id"); got == "" || got != items[0].DeliveryID {
		t.Fatalf("webhook-id %q, DLQ item's delivery id %q", got, items[0].DeliveryID)
	}
}
