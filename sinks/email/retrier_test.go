package email_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
	"github.com/dletter/dletter/sinks/internal/sinktest"
)

// A greylisting server (450 on the first RCPT) gets the message on the
// second attempt, after the Retrier's backoff, with the same Message-ID.
func TestRetrierRetriesGreylisting(t *testing.T) {
	var calls atomic.Int32
	srv := startServer(t, serverOpts{rcptErr: func(string) error {
		if calls.Add(1) == 1 {
			return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "greylisted, try again later"}
		}
		return nil
	}})
	clock := sinktest.NewClock(fixedNow)
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
	r := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 3, BaseBackoff: 2 * time.Second, MaxBackoff: time.Minute},
		sinks.NewMemoryDLQ(), sinks.WithClock(clock), sinks.WithRandom(func() float64 { return 0.5 }))
	ctx := sinks.WithDeliveryID(context.Background(), "grey-1")
	if err := r.Send(ctx, email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := clock.Sleeps(); len(got) != 1 || got[0] != 2*time.Second {
		t.Fatalf("waits %v, want [2s]", got)
	}
	if got := srv.next(t); !contains(got.Data, "Message-ID: <dletter.grey-1@example.com>") {
		t.Fatalf("message:\n%s", got.Data)
	}
}
