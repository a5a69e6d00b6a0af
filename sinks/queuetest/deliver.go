package queuetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/dletter/dletter/sinks"
)

func testOnce(t *testing.T, newQueue NewQueue) {
	q := newQueue(t)
	names := []string{"hook", "mail", "team:a"}
	want := map[string]*sinks.Task{}
	for _, sink := range names {
		for i := range 15 {
			tk := task(sink, i)
			want[tk.DeliveryID] = tk
			enqueue(t, q, tk)
		}
	}
	if n := pending(t, q, "hook"); n != 15 {
		t.Fatalf("Pending(hook) = %d before any Consume, want 15", n)
	}
	got, err := q.Sinks()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range names {
		if !slices.Contains(got, s) {
			t.Fatalf("Sinks() = %v, lacks %q", got, s)
		}
	}
	recs := map[string]*recorder{}
	for _, sink := range names {
		recs[sink] = &recorder{}
		consume(t, q, sink, 4, recs[sink].handle)
	}
	for _, sink := range names {
		r := recs[sink]
		waitFor(t, "15 tasks of "+sink, func() bool { return r.count() >= 15 })
		waitFor(t, "an empty "+sink, func() bool { return pending(t, q, sink) == 0 })
		tasks, _ := r.tasks()
		seen := map[string]int{}
		for _, tk := range tasks {
			seen[tk.DeliveryID]++
			w := want[tk.DeliveryID]
			if tk.Sink != sink || w == nil {
				t.Fatalf("Consume(%s) was handed %+v", sink, tk)
			}
			if !tk.EnqueuedAt.Equal(w.EnqueuedAt) || string(tk.Recipient) != string(w.Recipient) ||
				!reflect.DeepEqual(tk.Message, w.Message) || tk.Attempts != 0 || tk.DeadLetter {
				t.Fatalf("handed out %+v, want %+v", tk, *w)
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("task %s handed out %d times, want once", id, n)
			}
		}
		if len(seen) != 15 {
			t.Errorf("%s: %d tasks handed out, want 15", sink, len(seen))
		}
	}
}

func testConcurrency(t *testing.T, newQueue NewQueue) {
	q := newQueue(t)
	for i := range 12 {
		enqueue(t, q, task("hook", i))
	}
	const n = 3
	var now, most, done atomic.Int64
	release := make(chan struct{})
	consume(t, q, "hook", n, func(ctx context.Context, tk *sinks.Task) sinks.Outcome {
		cur := now.Add(1)
		for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
		}
		<-release
		now.Add(-1)
		done.Add(1)
		return sinks.OutcomeDone
	})
	waitFor(t, "3 handlers at once", func() bool { return now.Load() == n })
	if p := pending(t, q, "hook"); p != 12 {
		t.Errorf("Pending = %d with 3 in flight, want 12 (those in flight included)", p)
	}
	close(release)
	waitFor(t, "every task", func() bool { return done.Load() == 12 })
	if m := most.Load(); m > n {
		t.Errorf("%d handlers ran at once, want at most %d", m, n)
	}
	waitFor(t, "an empty queue", func() bool { return pending(t, q, "hook") == 0 })
}

func testCause(t *testing.T, newQueue NewQueue) {
	q := newQueue(t)
	enqueue(t, q, task("hook", 1))
	r := &recorder{}
	c := consume(t, q, "hook", 2, r.handle)
	waitFor(t, "the task", func() bool { return r.count() == 1 })
	cause := errors.New("shutting down for the test")
	if err := c.stop(cause); !errors.Is(err, cause) {
		t.Errorf("Consume returned %v, want ctx's cause", err)
	}
	idle := consume(t, q, "idle", 1, r.handle)
	if err := idle.stop(cause); !errors.Is(err, cause) {
		t.Errorf("Consume of an empty sink returned %v, want ctx's cause", err)
	}
}

func testClose(t *testing.T, newQueue NewQueue) {
	q := newQueue(t)
	enqueue(t, q, task("hook", 1))
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := q.Enqueue(context.Background(), task("hook", 2)); !errors.Is(err, sinks.ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
	}
}
