package sinks_test

import (
	"context"
	"fmt"
	"os"

	"github.com/dletter/dletter/sinks"
)

// chanSink hands every delivered message to a channel.
type chanSink struct {
	name string
	got  chan sinks.Message
}

func (s chanSink) Name() string { return s.name }

func (s chanSink) Send(_ context.Context, _ sinks.Recipient, m sinks.Message) error {
	s.got <- m
	return nil
}

func ExampleDispatcher() {
	dir, err := os.MkdirTemp("", "dletter-queue")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// Each sink gets its own limits; those not named take the defaults (16
	// sends in flight, no rate limit, a circuit that opens after 5
	// consecutive failures for 30s). Synchronous sends through the
	// registry share them.
	two, perSecond := 2, 10.0
	policy := sinks.DeliveryPolicy{PerSink: map[string]sinks.DeliveryOverride{
		"mail": {Concurrency: &two, Rate: &perSecond},
	}}
	reg := sinks.NewRegistry(sinks.WithDLQ(sinks.NewMemoryDLQ()), sinks.WithDeliveryPolicy(policy))
	mail := chanSink{name: "mail", got: make(chan sinks.Message)}
	if err := reg.Register(mail); err != nil {
		panic(err)
	}

	q, err := sinks.OpenFileQueue(dir) // durable: survives a crash of the process
	if err != nil {
		panic(err)
	}
	defer q.Close()
	d, err := sinks.NewDispatcher(reg, q)
	if err != nil {
		panic(err)
	}
	if err := d.Start(); err != nil {
		panic(err)
	}

	// Enqueue returns once the message is on disk; a worker delivers it.
	ctx := sinks.WithDeliveryID(context.Background(), "order-42")
	id, err := d.Enqueue(ctx, "mail", nil, sinks.Message{Subject: "order 42 shipped"})
	if err != nil {
		panic(err)
	}
	fmt.Println("queued", id)
	fmt.Println("delivered", (<-mail.got).Subject)

	st, _ := d.State("mail")
	fmt.Println("mail:", st.Limits.Concurrency, "in flight at most,", st.Circuit, "circuit")

	// Close lets sends in flight finish until ctx ends; what is left stays
	// queued for the next start.
	if err := d.Close(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// queued order-42
	// delivered order 42 shipped
	// mail: 2 in flight at most, closed circuit
}
