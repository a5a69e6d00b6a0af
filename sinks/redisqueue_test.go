package sinks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/internal/testenv"
)

// The RedisQueue tests run against a single redis-server and a local
// 3-master Redis Cluster; each subtest works under its own key prefix. The
// behaviour every Queue shares is checked by sinks/queuetest; these tests
// check what is Redis's own: keys, leases, claims and the schedule.

func TestRedisQueueSingleNode(t *testing.T) {
	t.Parallel()
	runRedisQueueSuite(t, redistest.Start(t).Client())
}

func TestRedisQueueCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3).Client()
	runRedisQueueSuite(t, c)
	t.Run("KeysOfASinkShareItsSlot", func(t *testing.T) { testRedisQueueSlots(t, c) })
}

func runRedisQueueSuite(t *testing.T, c redis.UniversalClient) {
	tests := []struct {
		name string
		fn   func(*testing.T, redis.UniversalClient)
	}{
		{"EnqueueIsOneXADD", testRedisQueueEnqueueIsOneXADD},
		{"TwoConsumersShareTheWork", testRedisQueueTwoConsumers},
		{"RetryWaitsInTheSchedule", testRedisQueueRetrySchedule},
		{"KeepIsHandedOutAgainAtOnce", testRedisQueueKeep},
		{"DeadConsumersTasksAreClaimed", testRedisQueueDeadConsumer},
		{"OwnPendingEntriesFirst", testRedisQueueOwnPending},
		{"ForeignEntryIsDeadLettered", testRedisQueueForeignEntry},
		{"OneConsumePerSink", testRedisQueueOneConsumePerSink},
		{"RateLimiterIsSharedGCRA", testRedisQueueRateLimiter},
		{"ConsumersThatLeftAreForgotten", testRedisQueueReap},
		{"Closed", testRedisQueueClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, c) })
	}
}

var redisQueueSeq atomic.Int64

// newRedisQueue returns a RedisQueue under a prefix of its own, with opts.
func newRedisQueue(t *testing.T, c redis.UniversalClient, opts ...StoreOption) *RedisQueue {
	t.Helper()
	q := NewRedisQueue(c, append([]StoreOption{WithKeyPrefix(fmt.Sprintf("rq%d", redisQueueSeq.Add(1)))}, opts...)...)
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// peer returns another consumer of q's tasks, as another process would be.
func peer(t *testing.T, q *RedisQueue, name string) *RedisQueue {
	t.Helper()
	p := NewRedisQueue(q.client, WithKeyPrefix(q.prefix), WithConsumerName(name), WithTaskLease(q.lease))
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// consumer runs Consume in the background until stop.
type consumer struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func startConsume(t *testing.T, q Queue, sink string, n int, h TaskHandler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- q.Consume(ctx, sink, n, h) }()
	t.Cleanup(func() { c.stop() })
	return c
}

// stop cancels the Consume and returns its error once it returned.
func (c *consumer) stop() error {
	c.once.Do(func() {
		c.cancel()
		c.err = <-c.done
	})
	return c.err
}

func enqueueN(t *testing.T, q Queue, sink string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", sink, i)
		err := q.Enqueue(context.Background(), &Task{Sink: sink, DeliveryID: ids[i], Message: Message{Subject: ids[i]}, EnqueuedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func pending(t *testing.T, q Queue, sink string) int64 {
	t.Helper()
	n, err := q.Pending(sink)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testRedisQueueSlots(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	for _, prefix := range []string{"dletter", "{app}", "a{b", "x{}y"} {
		q := NewRedisQueue(c, WithKeyPrefix(prefix))
		for _, sink := range []string{"email", "}x", "a}b", "{", "{}", "team:a", "ü"} {
			k := q.keys(sink)
			want, err := c.ClusterKeySlot(ctx, k.stream).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{k.schedule, k.bodies, k.rate} {
				if got, err := c.ClusterKeySlot(ctx, key).Result(); err != nil || got != want {
					t.Errorf("prefix %q sink %q: slot of %q = %d, %v; the stream %q is in %d", prefix, sink, key, got, err, k.stream, want)
				}
			}
		}
	}
	// A plain sink name is the hash tag itself.
	k := NewRedisQueue(c).keys("email")
	if k.stream != "dletter:q:{email}" || k.schedule != "dletter:q:{email}:schedule" {
		t.Errorf("keys of email: %+v", k)
	}
}

func testRedisQueueEnqueueIsOneXADD(t *testing.T, c redis.UniversalClient) {
	q := newRedisQueue(t, c)
	before := commandCalls(t, c)
	const n = 60
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() { enqueueN(t, q, []string{"a", "b", "c"}[w], n/3) })
	}
	wg.Wait()
	after := commandCalls(t, c)
	calls := func(cmd string) int64 { return after[cmd] - before[cmd] }
	if got := calls("xadd"); got != n {
		t.Errorf("%d enqueues ran XADD %d times", n, got)
	}
	if got := calls("sadd"); got != 3 {
		t.Errorf("%d enqueues to 3 sinks ran SADD %d times, want 3", n, got)
	}
	names, err := q.Sinks()
	if err != nil || fmt.Sprint(names) != "[a b c]" {
		t.Errorf("Sinks = %v, %v", names, err)
	}
	if p := pending(t, q, "a"); p != n/3 {
		t.Errorf("Pending(a) = %d, want %d", p, n/3)
	}
}

func testRedisQueueTwoConsumers(t *testing.T, c redis.UniversalClient) {
	a := newRedisQueue(t, c, WithConsumerName("a"))
	b := peer(t, a, "b")
	ids := enqueueN(t, a, "hook", 200)
	var mu sync.Mutex
	seen := map[string]int{}
	by := map[string]int{}
	handler := func(name string) TaskHandler {
		return func(ctx context.Context, task *Task) Outcome {
			time.Sleep(time.Millisecond) // let the other consumer take a share
			mu.Lock()
			seen[task.DeliveryID]++
			by[name]++
			mu.Unlock()
			return OutcomeDone
		}
	}
	startConsume(t, a, "hook", 4, handler("a"))
	startConsume(t, b, "hook", 4, handler("b"))
	testenv.WaitFor(t, "every task", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 200 })
	testenv.WaitFor(t, "an empty queue", func() bool { return pending(t, a, "hook") == 0 })
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("task %s handled %d times, want 1", id, seen[id])
		}
	}
	if by["a"] == 0 || by["b"] == 0 {
		t.Errorf("consumers handled %v: want both at work", by)
	}
	if n, err := c.XLen(context.Background(), a.keys("hook").stream).Result(); err != nil || n != 0 {
		t.Errorf("XLEN after every Done = %d, %v; want 0 (entries deleted)", n, err)
	}
}

func testRedisQueueRetrySchedule(t *testing.T, c redis.UniversalClient) {
	q := newRedisQueue(t, c)
	enqueueN(t, q, "hook", 1)
	const wait = 400 * time.Millisecond
	type turn struct {
		at   time.Time
		task Task
	}
	turns := make(chan turn, 4)
	startConsume(t, q, "hook", 2, func(ctx context.Context, task *Task) Outcome {
		turns <- turn{time.Now(), *task}
		if task.Attempts == 0 {
			task.recordFailure(time.Now(), errors.New("503"))
			task.Wait = wait
			return OutcomeRetry
		}
		return OutcomeDone
	})
	first := <-turns
	k := q.keys("hook")
	testenv.WaitFor(t, "the retry in the schedule", func() bool { return c.ZCard(context.Background(), k.schedule).Val() == 1 })
	if p := pending(t, q, "hook"); p != 1 {
		t.Errorf("Pending with one scheduled retry = %d, want 1", p)
	}
	second := <-turns
	if gap := second.at.Sub(first.at); gap < wait {
		t.Errorf("retry handed out %v after the failure, want at least the Wait of %v", gap, wait)
	}
	if second.task.Attempts != 1 || second.task.LastError != "503" || second.task.NotBefore.IsZero() {
		t.Errorf("retried task %+v: want the handler's changes and a NotBefore", second.task)
	}
	testenv.WaitFor(t, "an empty queue", func() bool { return pending(t, q, "hook") == 0 })
	if n := c.HLen(context.Background(), k.bodies).Val(); n != 0 {
		t.Errorf("%d bodies left in the schedule's hash", n)
	}
}

func testRedisQueueKeep(t *testing.T, c redis.UniversalClient) {
	q := newRedisQueue(t, c) // the default 30s lease: a redelivery sooner is not the lease's
	enqueueN(t, q, "hook", 1)
	var turns atomic.Int64
	done := make(chan time.Time, 1)
	start := time.Now()
	startConsume(t, q, "hook", 1, func(ctx context.Context, task *Task) Outcome {
		if turns.Add(1) == 1 {
			return OutcomeKeep
		}
		done <- time.Now()
		return OutcomeDone
	})
	select {
	case at := <-done:
		if d := at.Sub(start); d > 5*time.Second {
			t.Errorf("kept task handed out again after %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a kept task was not handed out again within 10s (the lease is 30s)")
	}
}

// testRedisQueueDeadConsumer: consumer a takes a task and then stops
// (its loop ends, its handler hangs as in a process that froze): after
// the lease, b delivers it. a's late Retry is then dropped, not added.
func testRedisQueueDeadConsumer(t *testing.T, c redis.UniversalClient) {
	const lease = 600 * time.Millisecond
	a := newRedisQueue(t, c, WithConsumerName("a"), WithTaskLease(lease))
	b := peer(t, a, "b")
	enqueueN(t, a, "hook", 1)
	started, release := make(chan struct{}), make(chan struct{})
	ca := startConsume(t, a, "hook", 1, func(ctx context.Context, task *Task) Outcome {
		close(started)
		<-release
		task.Wait = time.Hour
		return OutcomeRetry
	})
	<-started
	ca.cancel() // a stops renewing its lease; its handler never returns meanwhile
	died := time.Now()
	got := make(chan time.Time, 1)
	startConsume(t, b, "hook", 1, func(ctx context.Context, task *Task) Outcome {
		got <- time.Now()
		return OutcomeDone
	})
	select {
	case at := <-got:
		if at.Sub(died) < lease-50*time.Millisecond {
			t.Errorf("b took the task %v after a stopped, before the lease of %v", at.Sub(died), lease)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the dead consumer's task was not claimed")
	}
	close(release)
	if err := ca.stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("a's Consume = %v, want context.Canceled", err)
	}
	testenv.WaitFor(t, "an empty queue", func() bool { return pending(t, a, "hook") == 0 })
	if n := c.ZCard(context.Background(), a.keys("hook").schedule).Val(); n != 0 {
		t.Errorf("a's late retry was scheduled (%d entries) though b had claimed the task", n)
	}
}

// testRedisQueueOwnPending: an entry read under a consumer's name but never
// finished (the process crashed after XREADGROUP) goes to the next Consume
// of that name at once, not after the lease.
func testRedisQueueOwnPending(t *testing.T, c redis.UniversalClient) {
	q := newRedisQueue(t, c, WithConsumerName("fixed"))
	enqueueN(t, q, "hook", 1)
	ctx := context.Background()
	k := q.keys("hook")
	if err := c.XGroupCreateMkStream(ctx, k.stream, redisQueueGroup, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: redisQueueGroup, Consumer: "fixed", Streams: []string{k.stream, ">"}, Count: 1, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	startConsume(t, q, "hook", 1, func(ctx context.Context, task *Task) Outcome {
		got <- task.DeliveryID
		return OutcomeDone
	})
	select {
	case id := <-got:
		if id != "hook-0" {
			t.Errorf("handed out %q", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the consumer's own pending entry was not handed out at start")
	}
}

func testRedisQueueForeignEntry(t *testing.T, c redis.UniversalClient) {
	q := newRedisQueue(t, c)
	ctx := context.Background()
	k := q.keys("hook")
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: k.stream, Values: []any{"junk", "x"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: k.stream, Values: []any{"task", `{"sink":"other"}`}}).Err(); err != nil {
		t.Fatal(err)
	}
	got := make(chan Task, 2)
	startConsume(t, q, "hook", 1, func(ctx context.Context, task *Task) Outcome {
		got <- *task
		return OutcomeDone
	})
	for _, want := range []string{"junk=x", `{"sink":"other"}`} {
		task := <-got
		if !task.DeadLetter || task.Sink != "hook" || task.Message.Body != want || task.LastError == "" {
			t.Errorf("foreign entry handed out as %+v, want a dead letter of hook with body %q", task, want)
		}
	}
	testenv.WaitFor(t, "an empty queue", func() bool { return pending(t, q, "hook") == 0 })
}

func testRedisQueueOneConsumePerSink(t *testing.T, c redis.UniversalClient) {
	q := newRedisQueue(t, c)
	startConsume(t, q, "hook", 1, func(context.Context, *Task) Outcome { return OutcomeDone })
	testenv.WaitFor(t, "the first Consume", func() bool { q.mu.Lock(); defer q.mu.Unlock(); return q.active["hook"] })
	err := q.Consume(context.Background(), "hook", 1, func(context.Context, *Task) Outcome { return OutcomeDone })
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("second Consume of a sink = %v, want ErrInvalidArgument", err)
	}
}

func testRedisQueueClosed(t *testing.T, c redis.UniversalClient) {
	q := newRedisQueue(t, c)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := q.Enqueue(context.Background(), &Task{Sink: "hook"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close = %v", err)
	}
	if err := q.Consume(context.Background(), "hook", 1, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Consume after Close = %v", err)
	}
	if _, err := q.Pending("hook"); !errors.Is(err, ErrClosed) {
		t.Errorf("Pending after Close = %v", err)
	}
}

// testRedisQueueRateLimiter: two processes' limiters of one sink with rate
// 25 and burst 5 share one schedule of turns: five at once, then one every
// 40ms, whoever asks.
func testRedisQueueRateLimiter(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	a := newRedisQueue(t, c, WithConsumerName("a"))
	b := peer(t, a, "b")
	la, lb := a.Limiter("hook", 25, 5), b.Limiter("hook", 25, 5)
	const interval = 40 * time.Millisecond
	start := time.Now()
	for k := range 12 {
		d, err := []RateLimiter{la, lb}[k%2].Reserve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		due := time.Duration(max(k-4, 0)) * interval // after the burst of 5, one per interval
		if late := time.Since(start); d > due || d < due-late-5*time.Millisecond {
			t.Errorf("turn %d: wait %v, want %v less the %v elapsed", k+1, d, due, late)
		}
	}
	if d, err := a.Limiter("other", 25, 5).Reserve(ctx); err != nil || d != 0 {
		t.Errorf("another sink's first turn: %v, %v; want no wait", d, err)
	}
	if d, err := a.Limiter("hook", 0, 0).Reserve(ctx); err != nil || d != 0 {
		t.Errorf("no rate: %v, %v; want no wait", d, err)
	}
}

// testRedisQueueReap: consumers that hold nothing and stopped reading are
// deleted from the group; one with a pending entry, and the caller, stay.
func testRedisQueueReap(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	q := newRedisQueue(t, c, WithConsumerName("self"))
	enqueueN(t, q, "hook", 1)
	k := q.keys("hook")
	if err := c.XGroupCreateMkStream(ctx, k.stream, redisQueueGroup, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: redisQueueGroup, Consumer: "holder", Streams: []string{k.stream, ">"}, Count: 1, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gone", "self"} {
		if err := c.XGroupCreateConsumer(ctx, k.stream, redisQueueGroup, name).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rc := &redisConsumer{q: q, k: k}
	if err := rc.reap(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		cs, err := c.XInfoConsumers(ctx, k.stream, redisQueueGroup).Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range cs {
			out = append(out, x.Name)
		}
		return out
	}
	if got := fmt.Sprint(names()); got != "[gone holder self]" {
		t.Fatalf("consumers after reaping those idle for an hour: %s, want all three", got)
	}
	if err := rc.reap(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names()); got != "[holder self]" {
		t.Errorf("consumers after reaping: %s, want [holder self] (gone held nothing)", got)
	}
}
