package sinks_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/dletter/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

// panickySink panics on the subjects "boom" (with a value) and "index" (an
// index out of range, a runtime error), and delivers the others.
type panickySink struct{ got chan string }

func (panickySink) Name() string { return "panicky" }

func (s panickySink) Send(_ context.Context, _ sinks.Recipient, m sinks.Message) error {
	switch m.Subject {
	case "boom":
		panic("cannot parse " + m.Body)
	case "index":
		var fields []string
		_ = fields[len(m.Body)]
	}
	s.got <- m.Subject
	return nil
}

// TestSinkPanicIsDeadLettered: a sink that panics does not take the
// process down; the message is dead-lettered at once (a panic is
// terminal), its error says where the sink panicked and with what, and a
// runtime error stays reachable with errors.As. The Dispatcher goes on
// delivering the sink's other messages.
func TestSinkPanicIsDeadLettered(t *testing.T) {
	dlq := sinks.NewMemoryDLQ()
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq), sinks.WithDeliveryPolicy(sinks.DeliveryPolicy{}))
	s := panickySink{got: make(chan string, 8)}
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	err := reg.Send(ctx, "panicky", nil, sinks.Message{Subject: "boom", Body: "{oops"})
	var dl *sinks.DeadLetterError
	if !errors.As(err, &dl) || dl.Attempts != 1 {
		t.Fatalf("send of a message the sink panics on: %v; want it dead-lettered after 1 attempt", err)
	}
	it, err := dlq.Get(ctx, dl.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"the sink panicked in", "panickySink.Send", "sinkpanic_test.go:", "cannot parse {oops"} {
		if !strings.Contains(it.LastError, want) {
			t.Errorf("last error %q lacks %q", it.LastError, want)
		}
	}
	err = reg.Send(ctx, "panicky", nil, sinks.Message{Subject: "index", Body: "k"})
	var re runtime.Error
	if !errors.Is(err, sinks.ErrDeadLettered) || !errors.As(err, &re) || !strings.Contains(err.Error(), "sinkpanic_test.go:") {
		t.Fatalf("send of a message the sink indexes out of range on: %v; want it dead-lettered, a runtime.Error, naming the line", err)
	}

	d, _ := startDispatcher(t, reg)
	for _, subject := range []string{"boom", "fine"} {
		if _, err := d.Enqueue(ctx, "panicky", nil, sinks.Message{Subject: subject}); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-s.got; got != "fine" {
		t.Fatalf("delivered %q, want fine", got)
	}
	testenv.WaitFor(t, "the queued message the sink panics on to be dead-lettered", func() bool {
		n, _ := dlq.Count(ctx, "panicky")
		return n == 3
	})
}
