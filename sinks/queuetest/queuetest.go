// Package queuetest is the conformance suite of sinks.Queue: every queue
// (FileQueue, RedisQueue, or your own) runs it from a test:
//
//	func TestQueueConformance(t *testing.T) {
//		queuetest.Run(t, func(t *testing.T) sinks.Queue {
//			q := openMyQueue(t)
//			t.Cleanup(func() { q.Close() })
//			return q
//		})
//	}
//
// newQueue must return an empty queue for each call; the suite closes
// queues itself only in its Close test, and Close is idempotent, so a
// cleanup that closes again is fine. A queue that several processes share
// also runs RunShared with two queues over the same storage.
//
// The suite checks the semantics documented on sinks.Queue: every task
// enqueued is handed out once, to the Consume of its sink, with every field
// as stored; at most n handlers run at once; OutcomeRetry hands the task
// out again as the handler changed it, not before its Wait, and a new task
// does not wait behind it; OutcomeKeep hands it out again, unchanged, to
// the next Consume; Pending counts the tasks queued, in flight and waiting
// to be retried; Consume returns ctx's cause; Close. Changing a queue's
// semantics means growing this suite.
package queuetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

// NewQueue returns an empty queue for one test.
type NewQueue func(t *testing.T) sinks.Queue

// Run runs the suite against the queues newQueue makes.
func Run(t *testing.T, newQueue NewQueue) {
	t.Helper()
	t.Run("DeliversEachTaskOnce", func(t *testing.T) { testOnce(t, newQueue) })
	t.Run("AtMostNHandlers", func(t *testing.T) { testConcurrency(t, newQueue) })
	t.Run("RetryWaits", func(t *testing.T) { testRetry(t, newQueue) })
	t.Run("NewTaskDoesNotWaitBehindARetry", func(t *testing.T) { testNoHeadOfLine(t, newQueue) })
	t.Run("KeepHandsOutAgain", func(t *testing.T) { testKeep(t, newQueue) })
	t.Run("ConsumeReturnsTheCause", func(t *testing.T) { testCause(t, newQueue) })
	t.Run("Close", func(t *testing.T) { testClose(t, newQueue) })
}

// waitLimit bounds every wait of the suite for something the queue must do.
const waitLimit = 20 * time.Second

// task returns the i-th test task of sink, with every field a new task has.
func task(sink string, i int) *sinks.Task {
	return &sinks.Task{
		Sink:       sink,
		Recipient:  json.RawMessage(fmt.Sprintf(`{"email":"user%d@example.com"}`, i)),
		Message:    sinks.Message{Subject: fmt.Sprintf("%s %d", sink, i), Body: "body ✓ \"quoted\"", Metadata: map[string]string{"k": "v"}},
		DeliveryID: fmt.Sprintf("%s-%d", sink, i),
		EnqueuedAt: time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

func enqueue(t *testing.T, q sinks.Queue, tasks ...*sinks.Task) {
	t.Helper()
	for _, tk := range tasks {
		if err := q.Enqueue(context.Background(), tk); err != nil {
			t.Fatalf("Enqueue(%s): %v", tk.DeliveryID, err)
		}
	}
}

func pending(t *testing.T, q sinks.Queue, sink string) int64 {
	t.Helper()
	n, err := q.Pending(sink)
	if err != nil {
		t.Fatalf("Pending(%s): %v", sink, err)
	}
	return n
}

// waitFor waits until cond holds, failing the test after waitLimit. It is
// for what a queue's own goroutines or its server make true.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.WaitWithin(t, what, waitLimit, cond)
}

// consumer is a Consume running in the background.
type consumer struct {
	cancel context.CancelCauseFunc
	done   chan error
	once   sync.Once
	err    error
}

// consume starts q.Consume(sink, n, h); the test's end stops it.
func consume(t *testing.T, q sinks.Queue, sink string, n int, h sinks.TaskHandler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- q.Consume(ctx, sink, n, h) }()
	t.Cleanup(func() { c.stop(context.Canceled) })
	return c
}

// stop cancels the Consume with cause and returns what it returned.
func (c *consumer) stop(cause error) error {
	c.once.Do(func() {
		c.cancel(cause)
		c.err = <-c.done
	})
	return c.err
}

// recorder is a handler that records the tasks it is handed and answers
// with what decide says (OutcomeDone when nil).
type recorder struct {
	mu     sync.Mutex
	got    []sinks.Task
	at     []time.Time
	decide func(t *sinks.Task, turn int) sinks.Outcome
}

func (r *recorder) handle(_ context.Context, t *sinks.Task) sinks.Outcome {
	r.mu.Lock()
	r.got = append(r.got, *t)
	r.at = append(r.at, time.Now())
	turn := len(r.got)
	decide := r.decide
	r.mu.Unlock()
	if decide == nil {
		return sinks.OutcomeDone
	}
	return decide(t, turn)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) tasks() ([]sinks.Task, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sinks.Task(nil), r.got...), append([]time.Time(nil), r.at...)
}
