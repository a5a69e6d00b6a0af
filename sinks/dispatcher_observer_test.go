package sinks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// eventLog records a Retrier's events and signals each one.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	seen   chan struct{}
}

func (l *eventLog) observe(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	select {
	case l.seen <- struct{}{}:
	default:
	}
}

// count returns how many events of kind were reported with Async set to
// async, for sink.
func (l *eventLog) count(sink string, kind EventKind, async bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Sink == sink && e.Kind == kind && e.Async == async {
			n++
		}
	}
	return n
}

// waitFor waits until cond holds, checking after each event, for at most
// 10 seconds.
func (l *eventLog) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-l.seen:
		case <-deadline:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no %s after 10s: %+v", what, l.events)
		}
	}
}

// TestDispatcherEventsSayAsync: the events of a Dispatcher's deliveries
// have Async set, those of synchronous sends through the same Retriers do
// not; each message the Dispatcher ends is one EventSuccess or one
// EventDeadLettered.
func TestDispatcherEventsSayAsync(t *testing.T) {
	log := &eventLog{seen: make(chan struct{}, 1)}
	reg := NewRegistry(WithDLQ(NewMemoryDLQ()), WithDeliveryPolicy(DeliveryPolicy{}),
		WithRetryPolicy(RetryPolicy{RetryOverride: RetryOverride{MaxAttempts: ptr(1)}}),
		WithRetrierOptions(WithObserver(log.observe)))
	gone := Terminal(errors.New("410 gone"))
	for _, s := range []Sink{&scriptSink{name: "ok"}, &scriptSink{name: "gone", script: []error{gone, gone, gone, gone}}} {
		if err := reg.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := reg.Send(ctx, "ok", nil, Message{}); err != nil {
		t.Fatal(err)
	}
	var dl *DeadLetterError
	if err := reg.Send(ctx, "gone", nil, Message{}); !errors.As(err, &dl) {
		t.Fatalf("Send = %v, want a dead letter", err)
	}

	q, err := OpenFileQueue(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	d, err := NewDispatcher(reg, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close(ctx) }()
	for i := range 3 {
		if _, err := d.Enqueue(ctx, "ok", nil, Message{Subject: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Enqueue(ctx, "gone", nil, Message{}); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "async outcomes", func() bool {
		return log.count("ok", EventSuccess, true) == 3 && log.count("gone", EventDeadLettered, true) == 1
	})
	for _, c := range []struct {
		sink  string
		kind  EventKind
		async bool
		want  int
	}{
		{"ok", EventSuccess, false, 1},
		{"ok", EventAttempt, true, 3},
		{"gone", EventDeadLettered, false, 1},
		{"gone", EventFailure, true, 1},
		{"gone", EventFailure, false, 1},
	} {
		if got := log.count(c.sink, c.kind, c.async); got != c.want {
			t.Errorf("%s %s events with Async %v: %d, want %d", c.sink, c.kind, c.async, got, c.want)
		}
	}
}
