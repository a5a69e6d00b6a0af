package sinktest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// testCancel: a Send that waits on the far end returns promptly once its
// context is cancelled, with an error that matches context.Canceled and
// is not transient (the caller gave up; a retry is not the sink's call).
func testCancel(t *testing.T, b *bench) {
	b.answer(t, Answer{Outcome: Hold})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.send(t, ctx, newDeliveryID()) }()
	b.r.Next(t) // the receiver holds the delivery: Send waits for its answer
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || sinks.IsTransient(err) {
			t.Fatalf("sinktest: cancelled Send: %v (transient %v); want context.Canceled, not transient", err, sinks.IsTransient(err))
		}
	case <-time.After(waitFor):
		t.Fatalf("sinktest: Send did not return within %s of its context's cancel", waitFor)
	}
}

func testTransient(t *testing.T, b *bench) {
	b.answer(t, Answer{Outcome: Transient})
	err := b.send(t, context.Background(), newDeliveryID())
	if err == nil || !sinks.IsTransient(err) {
		t.Fatalf("sinktest: a transient refusal gave %v; want an error that sinks.IsTransient accepts", err)
	}
	b.r.Next(t)
}

func testTerminal(t *testing.T, b *bench) {
	b.answer(t, Answer{Outcome: Terminal})
	err := b.send(t, context.Background(), newDeliveryID())
	if err == nil || sinks.IsTransient(err) {
		t.Fatalf("sinktest: a terminal refusal gave %v (transient %v); want a terminal error", err, sinks.IsTransient(err))
	}
	b.r.Next(t)
}

func testRetryAfter(t *testing.T, b *bench) {
	const hint = 7 * time.Second
	b.answer(t, Answer{Outcome: Transient, RetryAfter: hint})
	err := b.send(t, context.Background(), newDeliveryID())
	if d, ok := sinks.RetryAfterHint(err); !ok || d != hint || !sinks.IsTransient(err) {
		t.Fatalf("sinktest: a refusal asking to retry after %s gave hint %s (%v) in %v; want it from sinks.RetryAfterHint", hint, d, ok, err)
	}
	b.r.Next(t)
}

// testUnreachable: nothing listens at the target any more; the error is
// transient (the far end may come back) and shows no secret.
func testUnreachable(t *testing.T, b *bench) {
	b.r.Close()
	err := b.send(t, context.Background(), newDeliveryID())
	if err == nil || !sinks.IsTransient(err) {
		t.Fatalf("sinktest: Send to a closed receiver gave %v; want a transient error", err)
	}
}
