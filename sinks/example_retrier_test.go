package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dletter/dletter/sinks"
)

// flakySink fails with a server error until it has been called `failures`
// times.
type flakySink struct {
	failures int
	calls    int
}

func (s *flakySink) Name() string { return "webhook" }

func (s *flakySink) Send(ctx context.Context, to sinks.Recipient, m sinks.Message) error {
	s.calls++
	if s.calls <= s.failures {
		return &sinks.StatusError{StatusCode: 503}
	}
	fmt.Printf("delivered %q to %v (delivery id %s)\n", m.Subject, to, sinks.DeliveryID(ctx))
	return nil
}

func ExampleRetrier() {
	dlq := sinks.NewMemoryDLQ()
	defer dlq.Close()

	// Fails 5 times: the budget (3 attempts here) is spent and the
	// message is parked in the DLQ.
	sink := &flakySink{failures: 5}
	r := sinks.NewRetrier(sink, sinks.RetryConfig{MaxAttempts: 3, BaseBackoff: time.Millisecond}, dlq)

	ctx := sinks.WithDeliveryID(context.Background(), "order-42")
	err := r.Send(ctx, "https://example.com/hook", sinks.Message{Subject: "order 42 paid"})

	var dl *sinks.DeadLetterError
	if errors.As(err, &dl) {
		fmt.Printf("dead-lettered as item %s after %d attempts: %v\n", dl.ID, dl.Attempts, dl.Err)
	}
	it, _ := dlq.Get(context.Background(), dl.ID)
	fmt.Printf("item: sink=%s attempts=%d delivery_id=%s recipient=%s\n", it.Sink, it.Attempts, it.DeliveryID, it.Recipient)

	// The far end recovers: the next send goes through at the first try.
	sink.failures = 0
	sink.calls = 0
	if err := r.Send(ctx, "https://example.com/hook", sinks.Message{Subject: "order 43 paid"}); err == nil {
		n, _ := dlq.Count(context.Background(), "")
		fmt.Println("items in the DLQ:", n)
	}
	// Output:
	// dead-lettered as item 1 after 3 attempts: http status 503 Service Unavailable
	// item: sink=webhook attempts=3 delivery_id=order-42 recipient="https://example.com/hook"
	// delivered "order 43 paid" to https://example.com/hook (delivery id order-42)
	// items in the DLQ: 1
}
