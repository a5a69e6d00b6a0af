package sinks

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

type retrierBundle struct {
	sink *scriptSink
	dlq  *stubDLQ
	r    *Retrier
}

// setupRetrier returns a Retrier without jitter around a scriptSink. The
// tests that call it run in a testing/synctest bubble, so that the
// Retrier's waits take no real time and are exact.
func setupRetrier(t *testing.T, cfg RetryConfig, script ...error) *retrierBundle {
	t.Helper()
	b := &retrierBundle{sink: &scriptSink{name: "hook", script: script}, dlq: &stubDLQ{}}
	b.r = NewRetrier(b.sink, cfg, b.dlq, WithRandom(func() float64 { return 0.5 }))
	return b
}

var errRefused = fmt.Errorf("dial: %w", syscall.ECONNREFUSED)

func TestRetrierDeliversFirstTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupRetrier(t, RetryConfig{})
		if err := b.r.Send(context.Background(), "to", Message{Subject: "s"}); err != nil {
			t.Fatal(err)
		}
		if b.sink.Calls() != 1 || len(b.dlq.items) != 0 {
			t.Fatalf("calls %d, pushed %d", b.sink.Calls(), len(b.dlq.items))
		}
		if id := b.sink.ids[0]; len(id) != 36 || id[14] != '4' {
			t.Fatalf("minted delivery id %q is not a v4 UUID", id)
		}
	})
}

func TestRetrierRetriesThenDeadLetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		b := setupRetrier(t, RetryConfig{}, errRefused, errRefused, errRefused, errRefused, errRefused, nil)
		ctx := WithDeliveryID(context.Background(), "order-42")
		err := b.r.Send(ctx, "to@example.com", Message{Subject: "hi", Body: "b"})

		var dl *DeadLetterError
		if !errors.Is(err, ErrDeadLettered) || !errors.As(err, &dl) || dl.ID != "1" || dl.Attempts != 5 {
			t.Fatalf("Send = %v: want a DeadLetterError for item 1 after 5 attempts", err)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatal("the dead-letter error does not unwrap to the sink's error")
		}
		if got, want := b.sink.waits(), []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; !reflect.DeepEqual(got, want) {
			t.Fatalf("waits %v, want %v", got, want)
		}
		if b.sink.Calls() != 5 {
			t.Fatalf("Send calls %d", b.sink.Calls())
		}
		for _, id := range b.sink.ids {
			if id != "order-42" {
				t.Fatalf("attempt saw delivery id %q", id)
			}
		}
		it := b.dlq.items[0]
		if it.Sink != "hook" || it.Attempts != 5 || it.LastError != errRefused.Error() || it.DeliveryID != "order-42" ||
			it.Recipient != "to@example.com" || it.Message.Subject != "hi" || len(it.History) != 5 {
			t.Fatalf("item %+v", it)
		}
		if !it.FirstFailedAt.Equal(start) || !it.LastFailedAt.Equal(start.Add(15*time.Second)) || !it.At.Equal(it.LastFailedAt) {
			t.Fatalf("failure times %v .. %v, at %v", it.FirstFailedAt, it.LastFailedAt, it.At)
		}
	})
}

func TestRetrierTerminalFirstTry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupRetrier(t, RetryConfig{}, &StatusError{StatusCode: 404})
		err := b.r.Send(context.Background(), nil, Message{})
		if !errors.Is(err, ErrDeadLettered) || b.sink.Calls() != 1 {
			t.Fatalf("err %v, calls %d", err, b.sink.Calls())
		}
		if it := b.dlq.items[0]; it.Attempts != 1 || !strings.Contains(it.LastError, "404") {
			t.Fatalf("item %+v", it)
		}
	})
}

func TestRetrierRecoversWithoutDeadLettering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupRetrier(t, RetryConfig{}, errRefused, &StatusError{StatusCode: 503})
		if err := b.r.Send(context.Background(), nil, Message{}); err != nil {
			t.Fatal(err)
		}
		if b.sink.Calls() != 3 || len(b.dlq.items) != 0 {
			t.Fatalf("calls %d, pushed %d", b.sink.Calls(), len(b.dlq.items))
		}
	})
}

func TestRetrierHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupRetrier(t, RetryConfig{MaxAttempts: 3},
			&StatusError{StatusCode: 429, Delay: 20 * time.Second}, // longer than the backoff: wait for it
			&StatusError{StatusCode: 429, Delay: time.Millisecond}, // shorter: the backoff wins
		)
		if err := b.r.Send(context.Background(), nil, Message{}); err != nil {
			t.Fatal(err)
		}
		if got, want := b.sink.waits(), []time.Duration{20 * time.Second, 2 * time.Second}; !reflect.DeepEqual(got, want) {
			t.Fatalf("waits %v, want %v", got, want)
		}

		// A hint beyond MaxBackoff dead-letters at once instead of blocking.
		b = setupRetrier(t, RetryConfig{}, &StatusError{StatusCode: 503, Delay: time.Hour})
		start := time.Now()
		err := b.r.Send(context.Background(), nil, Message{})
		if !errors.Is(err, ErrDeadLettered) || b.sink.Calls() != 1 || time.Since(start) != 0 {
			t.Fatalf("err %v, calls %d, after %v", err, b.sink.Calls(), time.Since(start))
		}
	})
}

func TestRetrierCallerGivesUpButMessageIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupRetrier(t, RetryConfig{}, errRefused, errRefused, errRefused)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- b.r.Send(ctx, nil, Message{}) }()
		synctest.Wait()
		cancel() // the caller gives up during the first wait
		err := <-errc
		if !errors.Is(err, ErrDeadLettered) {
			t.Fatalf("Send = %v", err)
		}
		if b.sink.Calls() != 1 {
			t.Fatalf("calls %d after cancel", b.sink.Calls())
		}
		it := b.dlq.items[0]
		if it.LastError != errRefused.Error() || it.Attempts != 1 {
			t.Fatalf("LastError %q, attempts %d: want the sink's error", it.LastError, it.Attempts)
		}
		if b.dlq.ctxErrs[0] != nil {
			t.Fatal("the push ran on a cancelled context")
		}
		if dl := b.dlq.deadlines[0]; dl.IsZero() || dl.After(time.Now().Add(pushTimeout)) {
			t.Fatal("the push has no timeout of its own")
		}
	})
}

func TestRetrierPushFailureWrapsBoth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []Event
		b := setupRetrier(t, RetryConfig{MaxAttempts: 1}, errRefused)
		b.dlq.err = Errorf(CodeDLQOverflow, "MemoryDLQ.Push", "full")
		b.r.opts.observer = func(e Event) { events = append(events, e) }
		err := b.r.Send(context.Background(), nil, Message{})
		var nd *NotDeliveredError
		if !errors.As(err, &nd) || !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, ErrDLQOverflow) || errors.Is(err, ErrDeadLettered) {
			t.Fatalf("Send = %v: want an error wrapping both, not dead-lettered", err)
		}
		if last := events[len(events)-1]; last.Kind != EventDeadLetterFailed || !errors.Is(last.Err, ErrDLQOverflow) {
			t.Fatalf("last event %+v", last)
		}
	})
}

func TestRetrierWithoutDLQReturnsSinkError(t *testing.T) {
	r := &Retrier{Inner: &scriptSink{name: "s", script: []error{errors.New("bad")}}, Cfg: RetryConfig{MaxAttempts: 1}}
	if err := r.Send(context.Background(), nil, Message{}); err == nil || err.Error() != "bad" {
		t.Fatalf("Send = %v", err)
	}
}

func TestRetrierAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &scriptSink{name: "slow", block: true}
		dlq := &stubDLQ{}
		r := NewRetrier(sink, RetryConfig{MaxAttempts: 2}, dlq, WithAttemptTimeout(5*time.Millisecond))
		err := r.Send(context.Background(), nil, Message{})
		if !errors.Is(err, ErrDeadLettered) || sink.Calls() != 2 {
			t.Fatalf("Send = %v after %d calls: want 2 timed-out attempts, dead-lettered", err, sink.Calls())
		}
		if it := dlq.items[0]; !strings.Contains(it.LastError, "attempt timed out after 5ms") {
			t.Fatalf("LastError %q", it.LastError)
		}
	})
}

func TestRetrierClassifierOverride(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupRetrier(t, RetryConfig{MaxAttempts: 3}, errors.New("odd"), nil)
		b.r.IsTransientFn = func(err error) bool { return err.Error() == "odd" }
		if err := b.r.Send(context.Background(), nil, Message{}); err != nil || b.sink.Calls() != 2 {
			t.Fatalf("Send = %v after %d calls", err, b.sink.Calls())
		}
	})
}

func TestRetrierObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var kinds []string
		b := setupRetrier(t, RetryConfig{MaxAttempts: 2}, errRefused, errRefused)
		b.r.opts.observer = func(e Event) {
			if e.Sink != "hook" || e.DeliveryID == "" {
				t.Errorf("event %+v", e)
			}
			kinds = append(kinds, fmt.Sprintf("%s#%d", e.Kind, e.Attempt))
		}
		_ = b.r.Send(context.Background(), nil, Message{})
		want := []string{"attempt#1", "failure#1", "attempt#2", "failure#2", "dead_lettered#2"}
		if !reflect.DeepEqual(kinds, want) {
			t.Fatalf("events %v, want %v", kinds, want)
		}
		kinds = nil
		b.sink.setScript()
		_ = b.r.Send(context.Background(), nil, Message{})
		if want := []string{"attempt#1", "success#1"}; !reflect.DeepEqual(kinds, want) {
			t.Fatalf("events %v, want %v", kinds, want)
		}
		if EventKind(0).String() != "unknown" || EventReplay.String() != "replay" {
			t.Fatal("EventKind.String")
		}
	})
}

func TestRetrierIdentity(t *testing.T) {
	inner := &scriptSink{name: "inner"}
	r := NewRetrier(inner, RetryConfig{}, nil)
	if r.Name() != "inner" || !r.IsRetrier() || r.Unwrap() != Sink(inner) {
		t.Fatal("Name/IsRetrier/Unwrap")
	}
}
