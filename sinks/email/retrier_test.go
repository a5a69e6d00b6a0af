package email_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
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
	const backoff = 20 * time.Millisecond
	var waits []time.Duration
	var attempts []time.Time
	observe := func(e sinks.Event) {
		switch e.Kind {
		case sinks.EventAttempt:
			attempts = append(attempts, time.Now())
		case sinks.EventFailure:
			waits = append(waits, e.Wait)
		}
	}
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
	r := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 3, BaseBackoff: backoff, MaxBackoff: time.Minute},
		sinks.NewMemoryDLQ(), sinks.WithObserver(observe), sinks.WithRandom(func() float64 { return 0.5 }))
	ctx := sinks.WithDeliveryID(context.Background(), "grey-1")
	if err := r.Send(ctx, email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != backoff || len(attempts) != 2 || attempts[1].Sub(attempts[0]) < backoff {
		t.Fatalf("waits %v between attempts at %v, want one of %v", waits, attempts, backoff)
	}
	if got := srv.next(t); !contains(got.Data, "Message-ID: <dletter.grey-1@example.com>") {
		t.Fatalf("message:\n%s", got.Data)
	}
}
