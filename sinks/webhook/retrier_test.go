package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/webhook"
)

// A 503 whose Retry-After is an HTTP date drives the Retrier's wait, and
// every attempt carries the same webhook-id, freshly signed with its own
// timestamp. In a testing/synctest bubble, with the receiver in process,
// the wait is exact.
func TestRetrierRetryAfterAndStableID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []*http.Request
		var bodies [][]byte
		receiver := httpsinktest.Handler(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			got, bodies = append(got, r), append(bodies, body)
			if len(got) == 1 {
				w.Header().Set("Retry-After", time.Now().Add(20*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		s := newSink(t, webhook.Config{URL: "https://hooks.example.com/in", Secret: vectorSecret, Transport: receiver})
		r := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 3, BaseBackoff: time.Second, MaxBackoff: time.Minute},
			sinks.NewMemoryDLQ(), sinks.WithRandom(func() float64 { return 0.5 }))

		start := time.Now()
		if err := r.Send(context.Background(), nil, sinks.Message{Subject: "x"}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("%d requests, want 2", len(got))
		}
		if waited := time.Since(start); waited != 20*time.Second {
			t.Fatalf("waited %v, want the 20s of Retry-After", waited)
		}
		id := got[0].Header.Get("Webhook-Id")
		if id == "" || got[1].Header.Get("Webhook-Id") != id {
			t.Fatalf("webhook-id changed across retries: %q, %q", id, got[1].Header.Get("Webhook-Id"))
		}
		for i, want := range []time.Time{start, start.Add(20 * time.Second)} {
			ts := got[i].Header.Get("Webhook-Timestamp")
			if ts != strconv.FormatInt(want.Unix(), 10) {
				t.Errorf("attempt %d: webhook-timestamp %s, want %d", i+1, ts, want.Unix())
			}
			if err := verify(vectorSecret, id, ts, got[i].Header.Get("Webhook-Signature"), bodies[i]); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// 410 parks the message at once as "endpoint gone", with the URL's
// credentials redacted from the DLQ item.
func TestRetrierGoneIsTerminal(t *testing.T) {
	srv := httpsinktest.NewServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	s := newSink(t, webhook.Config{URL: srv.URL + "/in?token=s3cr3t"})
	dlq := sinks.NewMemoryDLQ()
	r := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 5}, dlq)
	err := r.Send(context.Background(), nil, sinks.Message{Subject: "x"})
	if !errors.Is(err, sinks.ErrDeadLettered) {
		t.Fatalf("want dead-lettered, got %v", err)
	}
	items, _ := dlq.Items(context.Background(), "", 10)
	if len(items) != 1 || items[0].Attempts != 1 {
		t.Fatalf("items %+v, want one after one attempt", items)
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
