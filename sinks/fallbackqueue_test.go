package sinks_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

// TestFallbackQueueKillRedisMidStream: async messages keep being accepted
// while Redis is killed and restarted; those kept on local disk meanwhile
// are moved into the shared queue when it is back, and the queue then
// hands out every message exactly once.
func TestFallbackQueueKillRedisMidStream(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithPersistence())
	primary := sinks.NewRedisQueue(fastFailClient(t, srv.Addr), sinks.WithKeyPrefix("fq"))
	local, err := sinks.OpenFileQueue(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := sinks.NewFallbackQueue(primary, local, sinks.WithMoveInterval(20*time.Millisecond), sinks.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	const n = 1500
	for i := range n {
		switch i {
		case n / 3:
			srv.Kill()
		case 2 * n / 3:
			if !f.Down() {
				t.Error("the queue does not know Redis is down")
			}
			srv.Restart()
		}
		task := &sinks.Task{Sink: "hook", DeliveryID: fmt.Sprint("m-", i), Message: sinks.Message{Subject: fmt.Sprint(i)}}
		if err := f.Enqueue(context.Background(), task); err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
	}
	testenv.WaitFor(t, "the local queue to be moved", func() bool {
		n, err := local.Pending("hook")
		return err == nil && n == 0 && !f.Down()
	})
	if f.Moved() == 0 {
		t.Fatal("nothing was moved: the outage did not reach the fallback")
	}
	t.Logf("moved %d messages from local disk after the outage", f.Moved())

	var mu sync.Mutex
	got := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- f.Consume(ctx, "hook", 16, func(_ context.Context, task *sinks.Task) sinks.Outcome {
			mu.Lock()
			got[task.DeliveryID]++
			mu.Unlock()
			return sinks.OutcomeDone
		})
	}()
	testenv.WaitFor(t, "every message", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	testenv.WaitFor(t, "an empty queue", func() bool { // so no duplicate can still be on its way
		n, err := f.Pending("hook")
		return err == nil && n == 0
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if c := got[fmt.Sprint("m-", i)]; c != 1 {
			t.Errorf("m-%d handed out %d times, want once", i, c)
		}
	}
}

// TestRedisQueueEnqueueOnce: a move repeated after a crash between the
// primary's write and the local consume adds nothing.
func TestRedisQueueEnqueueOnce(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	q := sinks.NewRedisQueue(srv.Client(), sinks.WithKeyPrefix("once"))
	task := &sinks.Task{Sink: "hook", DeliveryID: "d-1"}
	for range 3 {
		if err := q.EnqueueOnce(context.Background(), task, "hook\x00d-1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.EnqueueOnce(context.Background(), &sinks.Task{Sink: "hook", DeliveryID: "d-2"}, "hook\x00d-2"); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Pending("hook"); err != nil || n != 2 {
		t.Errorf("Pending = %d, %v; want 2 (one per key)", n, err)
	}
	if err := q.Ping(context.Background()); err != nil {
		t.Errorf("Ping = %v", err)
	}
}
