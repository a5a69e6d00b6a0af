package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/internal/sinktest"
	"github.com/dletter/dletter/sinks/webhook"
)

// A message to a per-call URL that answered 404 goes to a FileDLQ on disk;
// replayed, it reaches the same URL with the same webhook-id.
func TestReplayFromFileDLQ(t *testing.T) {
	var gone atomic.Bool
	gone.Store(true)
	other := httpsinktest.NewServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if gone.Load() {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	configured := httpsinktest.NewServer(t, nil)
	otherURL, _ := url.Parse(other.URL)

	dlq, err := sinks.OpenFileDLQ(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq), sinks.WithRetrierOptions(sinks.WithClock(sinktest.NewClock(time.Unix(0, 0)))))
	if err := reg.Register(newSink(t, webhook.Config{URL: configured.URL, Secret: vectorSecret, AllowRecipientHosts: []string{otherURL.Host},
		RecipientSecrets: map[string]string{otherURL.Host: partnerSecret}, AllowPrivateRecipients: true})); err != nil {
		t.Fatal(err)
	}
	err = reg.Send(context.Background(), "hooks", webhook.Recipient{URL: other.URL + "/per-call"}, sinks.Message{Subject: "x"})
	var dl *sinks.DeadLetterError
	if !errors.As(err, &dl) {
		t.Fatalf("want a dead-lettered message, got %v", err)
	}
	first := other.Next(t)

	gone.Store(false)
	if err := dlq.Replay(context.Background(), dl.ID); err != nil {
		t.Fatal(err)
	}
	again := other.Next(t)
	configured.None(t)
	if again.Path != "/per-call" || again.Header.Get("Webhook-Id") != first.Header.Get("Webhook-Id") {
		t.Fatalf("replay went to %s with id %q; first try had id %q", again.Path, again.Header.Get("Webhook-Id"), first.Header.Get("Webhook-Id"))
	}
	if err := verify(partnerSecret, again.Header.Get("Webhook-Id"), again.Header.Get("Webhook-Timestamp"), again.Header.Get("Webhook-Signature"), []byte(again.Body)); err != nil {
		t.Fatal(err)
	}
}
