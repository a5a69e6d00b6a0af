package queuetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// NewPeers returns two empty queues over the same storage, as two
// processes would open it, and the lease after which one takes over the
// tasks of the other when it stops consuming without finishing them.
type NewPeers func(t *testing.T) (a, b sinks.Queue, lease time.Duration)

// RunShared checks a queue that several processes share: the tasks of one
// sink consumed by both go to one of them each, and the tasks a consumer
// took and never finished (it died) go to the other after the lease.
func RunShared(t *testing.T, newPeers NewPeers) {
	t.Helper()
	t.Run("EachTaskToOneConsumer", func(t *testing.T) { testSharedOnce(t, newPeers) })
	t.Run("DeadConsumersTasksMove", func(t *testing.T) { testDeadConsumer(t, newPeers) })
}

func testSharedOnce(t *testing.T, newPeers NewPeers) {
	a, b, _ := newPeers(t)
	for i := range 100 {
		enqueue(t, []sinks.Queue{a, b}[i%2], task("hook", i))
	}
	ra, rb := &recorder{}, &recorder{}
	consume(t, a, "hook", 3, ra.handle)
	consume(t, b, "hook", 3, rb.handle)
	waitFor(t, "every task", func() bool { return ra.count()+rb.count() >= 100 })
	waitFor(t, "an empty queue", func() bool { return pending(t, a, "hook") == 0 })
	ga, _ := ra.tasks()
	gb, _ := rb.tasks()
	seen := map[string]int{}
	for _, tk := range append(ga, gb...) {
		seen[tk.DeliveryID]++
	}
	for i := range 100 {
		if id := fmt.Sprintf("hook-%d", i); seen[id] != 1 {
			t.Errorf("task %s handed out %d times, want once", id, seen[id])
		}
	}
}

// testDeadConsumer: a takes a task, then its Consume is cancelled while the
// handler hangs, as in a process that froze or was killed: it never says
// how the task went. After the lease b is handed the task.
func testDeadConsumer(t *testing.T, newPeers NewPeers) {
	a, b, lease := newPeers(t)
	enqueue(t, a, task("hook", 1))
	started, release := make(chan struct{}), make(chan struct{})
	ca := consume(t, a, "hook", 1, func(context.Context, *sinks.Task) sinks.Outcome {
		close(started)
		<-release
		return sinks.OutcomeDone
	})
	<-started
	ca.cancel(context.Canceled)
	died := time.Now()
	var once sync.Once
	took := make(chan time.Time, 1)
	rb := &recorder{decide: func(*sinks.Task, int) sinks.Outcome {
		once.Do(func() { took <- time.Now() })
		return sinks.OutcomeDone
	}}
	consume(t, b, "hook", 1, rb.handle)
	select {
	case at := <-took:
		if d := at.Sub(died); d < lease*9/10 {
			t.Errorf("b was handed the task %v after a stopped, before the lease of %v", d, lease)
		}
	case <-time.After(waitLimit):
		t.Fatalf("the task of a consumer that stopped was not handed to the other within %v", waitLimit)
	}
	close(release)
	waitFor(t, "an empty queue", func() bool { return pending(t, b, "hook") == 0 })
	if got, _ := rb.tasks(); len(got) != 1 || got[0].DeliveryID != "hook-1" {
		t.Errorf("b was handed %+v, want hook-1 once", got)
	}
}
