package slack_test

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
	"github.com/dletter/dletter/sinks/internal/sinktest"
	"github.com/dletter/dletter/sinks/slack"
)

// A 429 with Retry-After makes the Retrier wait what Slack asked for
// (longer than its own backoff) before the next attempt.
func TestRetrierHonours429RetryAfter(t *testing.T) {
	var calls atomic.Int32
	srv := newSlack(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	clock := sinktest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newSink(t, slack.Config{WebhookURL: hook(srv), Now: clock.Now})
	dlq := sinks.NewMemoryDLQ()
	r := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 3, BaseBackoff: time.Second, MaxBackoff: time.Minute},
		dlq, sinks.WithClock(clock), sinks.WithRandom(func() float64 { return 0.5 }))

	if err := r.Send(context.Background(), nil, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 2 {
		t.Fatalf("%d requests, want 2", got)
	}
	if got, want := clock.Sleeps(), []time.Duration{7 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	if n, _ := dlq.Count(context.Background(), ""); n != 0 {
		t.Fatalf("%d items dead-lettered", n)
	}
}

// A terminal Slack error parks the message at once, and the DLQ item's
// error never shows the webhook URL.
func TestRetrierDeadLettersWithoutURL(t *testing.T) {
	srv := newSlack(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("no_service"))
	})
	clock := sinktest.NewClock(time.Unix(0, 0))
	s := newSink(t, slack.Config{WebhookURL: hook(srv)})
	dlq := sinks.NewMemoryDLQ()
	r := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 5}, dlq, sinks.WithClock(clock))
	err := r.Send(context.Background(), nil, sinks.Message{Subject: "x"})
	if !errors.Is(err, sinks.ErrDeadLettered) {
		t.Fatalf("want dead-lettered, got %v", err)
	}
	srv.Next(t)
	srv.None(t)
	items, _ := dlq.Items(context.Background(), "", 10)
	if len(items) != 1 || items[0].Attempts != 1 || len(clock.Sleeps()) != 0 {
		t.Fatalf("items %+v, sleeps %v", items, clock.Sleeps())
	}
	if !strings.Contains(items[0].LastError, "no_service") || strings.Contains(items[0].LastError, secretPath) {
		t.Fatalf("LastError %q", items[0].LastError)
	}
}
