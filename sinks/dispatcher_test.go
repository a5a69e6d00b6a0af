package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/webhook"
)

// dispatcherScenarios run on every Queue: TestDispatcherFileQueue,
// TestDispatcherRedisQueue and TestDispatcherRedisQueueCluster.
var dispatcherScenarios = []struct {
	name string
	fn   func(*testing.T, queueStore)
}{
	{"DeliversEveryMessageOnceConcurrently", testDispatcherDeliversEveryMessageOnceConcurrently},
	{"IsolatesASinkThatHangs", testDispatcherIsolatesASinkThatHangs},
	{"PerSinkConcurrencyAndRate", testDispatcherPerSinkConcurrencyAndRate},
	{"CircuitPausesAFailingSinkThenDelivers", testDispatcherCircuitPausesAFailingSinkThenDelivers},
	{"DeadLettersWithHistoryAndDeliveryID", testDispatcherDeadLettersWithHistoryAndDeliveryID},
	{"CloseKeepsWhatDidNotFinish", testDispatcherCloseKeepsWhatDidNotFinish},
	{"CloseLetsInFlightSendsFinish", testDispatcherCloseLetsInFlightSendsFinish},
	{"DeadLettersQueuedMessagesOfAnUnknownSink", testDispatcherDeadLettersQueuedMessagesOfAnUnknownSink},
	{"KeepsAMessageTheDLQRefused", testDispatcherKeepsAMessageTheDLQRefused},
	{"SendsNewMessagesBesideAHangingOne", testDispatcherSendsNewMessagesBesideAHangingOne},
}

func TestDispatcherFileQueue(t *testing.T) {
	for _, sc := range dispatcherScenarios {
		t.Run(sc.name, func(t *testing.T) { sc.fn(t, fileQueues(t.TempDir())) })
	}
}

func TestDispatcherRedisQueue(t *testing.T) {
	t.Parallel()
	c := redistest.Start(t).Client()
	for _, sc := range dispatcherScenarios {
		t.Run(sc.name, func(t *testing.T) { sc.fn(t, redisQueueStore(c)) })
	}
	t.Run("RateHoldsAcrossDispatchers", func(t *testing.T) { testDispatcherSharedRate(t, redisQueueStore(c)) })
}

func TestDispatcherRedisQueueCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3).Client()
	for _, sc := range dispatcherScenarios {
		t.Run(sc.name, func(t *testing.T) { sc.fn(t, redisQueueStore(c)) })
	}
	t.Run("RateHoldsAcrossDispatchers", func(t *testing.T) { testDispatcherSharedRate(t, redisQueueStore(c)) })
}

// queueStore opens a queue over one storage, as a new process would: a
// test that restarts its engine opens a second one.
type queueStore func(t *testing.T) sinks.Queue

// fileQueues opens FileQueues in dir.
func fileQueues(dir string) queueStore {
	return func(t *testing.T) sinks.Queue {
		q, err := sinks.OpenFileQueue(dir)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
}

// redisQueueStore opens RedisQueues on c under a new prefix, each a
// consumer of its own.
func redisQueueStore(c redis.UniversalClient) queueStore {
	prefix := fmt.Sprintf("disp%d", conformancePrefix.Add(1))
	var consumers atomic.Int64
	return func(t *testing.T) sinks.Queue {
		return sinks.NewRedisQueue(c, sinks.WithKeyPrefix(prefix), sinks.WithConsumerName(fmt.Sprintf("process-%d", consumers.Add(1))))
	}
}

// engine is a Dispatcher over a Queue of a queueStore, delivering to
// webhook sinks aimed at real receivers on loopback, dead-lettering into a
// MemoryDLQ.
type engine struct {
	store queueStore
	reg   *sinks.Registry
	dlq   *sinks.MemoryDLQ
	q     sinks.Queue
	d     *sinks.Dispatcher
}

// newEngine starts an engine; delivery and retry are the daemon's
// `delivery:` and `retry:` sections. The engine is closed when the test
// ends (gracefully, with a short deadline).
func newEngine(t *testing.T, store queueStore, delivery, retry map[string]any, hooks map[string]*testenv.Receiver,
	tune ...func(name string, c *webhook.Config)) *engine {
	t.Helper()
	dp, err := sinks.DecodeDeliveryPolicy(delivery)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := sinks.DecodeRetryPolicy(retry)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{store: store, dlq: sinks.NewMemoryDLQ()}
	e.reg = sinks.NewRegistry(sinks.WithDLQ(e.dlq), sinks.WithRetryPolicy(rp), sinks.WithDeliveryPolicy(dp))
	for name, h := range hooks {
		c := webhook.Config{URL: h.URL, Timeout: 10 * time.Second}
		for _, f := range tune {
			f(name, &c)
		}
		s, err := webhook.New(name, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.reg.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	e.q = store(t)
	if e.d, err = sinks.NewDispatcher(e.reg, e.q); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.close(t, 5*time.Second) })
	return e
}

func (e *engine) close(t *testing.T, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := e.d.Close(ctx)
	if qerr := e.q.Close(); qerr != nil {
		t.Error(qerr)
	}
	return err
}

func (e *engine) enqueue(t *testing.T, sink string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := e.d.Enqueue(t.Context(), sink, nil, sinks.Message{Subject: fmt.Sprintf("%s %d", sink, i), Body: `{}`})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

func testDispatcherDeliversEveryMessageOnceConcurrently(t *testing.T, store queueStore) {
	hook := testenv.NewReceiver(t)
	hook.Delay.Store(int64(20 * time.Millisecond))
	e := newEngine(t, store, nil, nil, map[string]*testenv.Receiver{"hook": hook})
	ids := e.enqueue(t, "hook", 200)
	testenv.WaitFor(t, "200 deliveries", func() bool { return hook.Total() == 200 })
	got := hook.Delivered()
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("delivery %s arrived %d times, want 1", id, got[id])
		}
	}
	if most := hook.MostInFlight(); most < 2 || most > sinks.DefaultConcurrency {
		t.Errorf("at most %d requests at once, want concurrent sends capped at %d", most, sinks.DefaultConcurrency)
	}
	testenv.WaitFor(t, "an empty queue", func() bool { st, _ := e.d.State("hook"); return st.Queued == 0 })
}

func testDispatcherIsolatesASinkThatHangs(t *testing.T, store queueStore) {
	good, stuck := testenv.NewReceiver(t), testenv.NewReceiver(t)
	stuck.Hold()
	e := newEngine(t, store, nil, nil, map[string]*testenv.Receiver{"good": good, "stuck": stuck})
	e.enqueue(t, "stuck", 40)
	testenv.WaitFor(t, "the stuck sink's sends to fill its slots", func() bool { return stuck.InFlight() == sinks.DefaultConcurrency })

	e.enqueue(t, "good", 200)
	testenv.WaitFor(t, "200 deliveries to the good sink", func() bool { return good.Total() == 200 })
	if stuck.Total() != 0 || stuck.InFlight() != sinks.DefaultConcurrency {
		t.Fatalf("stuck sink: %d delivered, %d in flight; the test wants it still hanging", stuck.Total(), stuck.InFlight())
	}
	st, _ := e.d.State("stuck")
	if st.InFlight != sinks.DefaultConcurrency || st.Queued != 40 {
		t.Errorf("stuck sink state: %+v, want %d in flight and 40 queued", st, sinks.DefaultConcurrency)
	}
	stuck.Release()
	testenv.WaitFor(t, "the stuck sink's messages", func() bool { return stuck.Total() == 40 })
}

// startTimes records when each request leaves the sink: the time the gate
// let it go, give or take a function call. The receiver's arrival times add
// the scheduler's and the network's jitter, which on a loaded machine can
// bunch requests up.
type startTimes struct {
	http.RoundTripper
	mu sync.Mutex
	at []time.Time
}

func (s *startTimes) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return s.RoundTripper.RoundTrip(r)
}

func (s *startTimes) mostInAnyWindow(d time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	most, j := 0, 0
	for i := range s.at {
		for s.at[i].Sub(s.at[j]) >= d {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

func testDispatcherPerSinkConcurrencyAndRate(t *testing.T, store queueStore) {
	one, limited := testenv.NewReceiver(t), testenv.NewReceiver(t)
	one.Delay.Store(int64(5 * time.Millisecond))
	starts := &startTimes{RoundTripper: http.DefaultTransport.(*http.Transport).Clone()}
	e := newEngine(t, store, map[string]any{
		"per_sink": map[string]any{
			"one":     map[string]any{"concurrency": 1},
			"limited": map[string]any{"rate": 25, "burst": 5},
		},
	}, nil, map[string]*testenv.Receiver{"one": one, "limited": limited}, func(name string, c *webhook.Config) {
		if name == "limited" {
			c.Transport = starts
		}
	})
	e.enqueue(t, "one", 50)
	e.enqueue(t, "limited", 60)
	testenv.WaitFor(t, "all deliveries", func() bool { return one.Total() == 50 && limited.Total() == 60 })
	if most := one.MostInFlight(); most != 1 {
		t.Errorf("sink with concurrency 1 saw %d requests at once", most)
	}
	if most := starts.mostInAnyWindow(time.Second); most > 25+5 {
		t.Errorf("sink with rate 25 and burst 5 sent %d requests within one second, want at most 30", most)
	}
	t.Logf("the receiver counted at most %d requests in one second", limited.MostInAnyWindow(time.Second))
	if st, _ := e.d.State("limited"); st.RateLimitedWaits == 0 {
		t.Error("no send waited for the rate limit")
	}
}

// testDispatcherSharedRate: two Dispatchers (two processes) deliver one
// sink's messages with rate 25 and burst 5: together they never start more
// than 30 sends in any second, where each on its own would allow 30.
func testDispatcherSharedRate(t *testing.T, store queueStore) {
	limited := testenv.NewReceiver(t)
	delivery := map[string]any{"per_sink": map[string]any{"limited": map[string]any{"rate": 25, "burst": 5}}}
	var engines []*engine
	var starts []*startTimes
	for range 2 {
		st := &startTimes{RoundTripper: http.DefaultTransport.(*http.Transport).Clone()}
		starts = append(starts, st)
		engines = append(engines, newEngine(t, store, delivery, nil, map[string]*testenv.Receiver{"limited": limited},
			func(_ string, c *webhook.Config) { c.Transport = st }))
	}
	engines[0].enqueue(t, "limited", 30)
	engines[1].enqueue(t, "limited", 30)
	testenv.WaitFor(t, "all deliveries", func() bool { return limited.Total() == 60 })
	all := &startTimes{}
	for i, st := range starts {
		st.mu.Lock()
		all.at = append(all.at, st.at...)
		st.mu.Unlock()
		if len(st.at) == 0 {
			t.Errorf("dispatcher %d sent nothing; the test wants both at work", i)
		}
	}
	slices.SortFunc(all.at, time.Time.Compare)
	if most := all.mostInAnyWindow(time.Second); most > 25+5 {
		t.Errorf("two dispatchers with rate 25 and burst 5 sent %d requests within one second, want at most 30", most)
	}
	t.Logf("the receiver counted at most %d requests in one second", limited.MostInAnyWindow(time.Second))
	waits := int64(0)
	for _, e := range engines {
		st, _ := e.d.State("limited")
		waits += st.RateLimitedWaits
	}
	if waits == 0 {
		t.Error("no send waited for the rate limit")
	}
}

func testDispatcherCircuitPausesAFailingSinkThenDelivers(t *testing.T, store queueStore) {
	hook := testenv.NewReceiver(t)
	hook.Fail.Store(true)
	const cooldown = 1500 * time.Millisecond
	e := newEngine(t, store, map[string]any{
		"concurrency": 1,
		"circuit":     map[string]any{"failures": 3, "cooldown": cooldown.String()},
	}, map[string]any{"max_attempts": 100, "base_backoff": "10ms", "max_backoff": "20ms"},
		map[string]*testenv.Receiver{"hook": hook})
	e.enqueue(t, "hook", 10)

	testenv.WaitFor(t, "the circuit to open", func() bool { st, _ := e.d.State("hook"); return st.Circuit == sinks.CircuitOpen })
	st, _ := e.d.State("hook")
	opened := st.NextProbe.Add(-cooldown)
	testenv.WaitFor(t, "a probe after the cooldown", func() bool { return hook.Attempts() > 3 })
	for _, at := range hook.Arrivals()[3:] {
		if at.Before(st.NextProbe) {
			t.Errorf("a request arrived %v after the circuit opened, within its %v cooldown", at.Sub(opened), cooldown)
		}
	}
	hook.Fail.Store(false)
	testenv.WaitFor(t, "every message once the sink recovers", func() bool { return hook.Total() == 10 })
	if n, _ := e.dlq.Count(t.Context(), ""); n != 0 {
		t.Errorf("%d messages dead-lettered; an open circuit must not spend their attempts", n)
	}
}

func testDispatcherDeadLettersWithHistoryAndDeliveryID(t *testing.T, store queueStore) {
	hook := testenv.NewReceiver(t)
	hook.Fail.Store(true)
	e := newEngine(t, store, map[string]any{"circuit": map[string]any{"failures": 0}},
		map[string]any{"max_attempts": 2, "per_sink": map[string]any{
			"hook": map[string]any{"max_attempts": 3, "base_backoff": "50ms", "max_backoff": "50ms", "jitter_fraction": 0},
		}}, map[string]*testenv.Receiver{"hook": hook})
	ids := e.enqueue(t, "hook", 1)
	testenv.WaitFor(t, "the dead letter", func() bool { n, _ := e.dlq.Count(t.Context(), ""); return n == 1 })
	items, err := e.dlq.Items(t.Context(), "hook", 0)
	if err != nil {
		t.Fatal(err)
	}
	it := items[0]
	if it.Attempts != 3 || len(it.History) != 3 || it.DeliveryID != ids[0] || it.Message.Subject != "hook 0" {
		t.Errorf("item = %+v, want 3 attempts (the sink's own max_attempts), 3 history entries, delivery id %s", it, ids[0])
	}
	arr := hook.Arrivals()
	for i := 1; i < len(arr); i++ {
		if gap := arr[i].Sub(arr[i-1]); gap < 50*time.Millisecond {
			t.Errorf("attempt %d came %v after the one before, want the sink's base_backoff of 50ms", i+1, gap)
		}
	}
	// The queue forgets the task once the handler that dead-lettered it
	// returned: a moment after the DLQ has it.
	testenv.WaitFor(t, "an empty queue after dead-lettering", func() bool { st, _ := e.d.State("hook"); return st.Queued == 0 })
}

func testDispatcherCloseKeepsWhatDidNotFinish(t *testing.T, store queueStore) {
	hook := testenv.NewReceiver(t)
	hook.Hold()
	e := newEngine(t, store, map[string]any{"concurrency": 4}, nil, map[string]*testenv.Receiver{"hook": hook})
	ids := e.enqueue(t, "hook", 30)
	testenv.WaitFor(t, "4 sends in flight", func() bool { return hook.InFlight() == 4 })

	err := e.close(t, 100*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the deadline's error: sends were cancelled", err)
	}
	if _, err := e.d.Enqueue(t.Context(), "hook", nil, sinks.Message{}); !errors.Is(err, sinks.ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
	}
	hook.Release()

	again := newEngine(t, store, nil, nil, map[string]*testenv.Receiver{"hook": hook})
	testenv.WaitFor(t, "every message after the restart", func() bool { return len(hook.Delivered()) == 30 })
	got := hook.Delivered()
	for _, id := range ids {
		if got[id] < 1 {
			t.Errorf("message %s was lost", id)
		}
	}
	if n, _ := again.dlq.Count(t.Context(), ""); n != 0 {
		t.Errorf("%d dead letters; a shutdown must not count against a message", n)
	}
}

func testDispatcherCloseLetsInFlightSendsFinish(t *testing.T, store queueStore) {
	hook := testenv.NewReceiver(t)
	hook.Delay.Store(int64(200 * time.Millisecond))
	e := newEngine(t, store, map[string]any{"concurrency": 2}, nil, map[string]*testenv.Receiver{"hook": hook})
	e.enqueue(t, "hook", 10)
	testenv.WaitFor(t, "2 sends in flight", func() bool { return hook.InFlight() == 2 })
	if err := e.close(t, 10*time.Second); err != nil {
		t.Fatalf("Close = %v, want nil: the sends in flight had time to finish", err)
	}
	if got := hook.Total(); got < 2 || got > 4 {
		t.Errorf("%d delivered by the time Close returned, want the 2 in flight (and no new ones started)", got)
	}
}

func testDispatcherDeadLettersQueuedMessagesOfAnUnknownSink(t *testing.T, store queueStore) {
	hook := testenv.NewReceiver(t)
	hook.Hold()
	e := newEngine(t, store, nil, nil, map[string]*testenv.Receiver{"gone": hook})
	e.enqueue(t, "gone", 3)
	if err := e.close(t, time.Millisecond); err == nil {
		t.Log("all sends finished before the deadline")
	}
	hook.Release()
	before := hook.Total()

	again := newEngine(t, store, nil, nil, nil) // "gone" is no longer configured
	testenv.WaitFor(t, "the dead letters", func() bool { n, _ := again.dlq.Count(t.Context(), ""); return n == 3-before })
	items, _ := again.dlq.Items(t.Context(), "gone", 0)
	for _, it := range items {
		if it.LastError == "" || it.DeliveryID == "" {
			t.Errorf("item %+v: want the reason and the delivery id", it)
		}
	}
}

// flakyDLQ refuses pushes while down is set, and counts its refusals.
type flakyDLQ struct {
	*sinks.MemoryDLQ
	mu      sync.Mutex
	down    bool
	refused int
}

func (d *flakyDLQ) Add(ctx context.Context, it sinks.DLQItem) (string, error) {
	d.mu.Lock()
	down := d.down
	if down {
		d.refused++
	}
	d.mu.Unlock()
	if down {
		return "", errors.New("dlq is down")
	}
	return d.MemoryDLQ.Add(ctx, it)
}

func (d *flakyDLQ) refusals() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.refused
}

func testDispatcherKeepsAMessageTheDLQRefused(t *testing.T, store queueStore) {
	hook := testenv.NewReceiver(t)
	hook.FailStatus.Store(400)
	hook.Fail.Store(true)
	dlq := &flakyDLQ{MemoryDLQ: sinks.NewMemoryDLQ(), down: true}
	one := 1
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq), sinks.WithDeliveryPolicy(sinks.DeliveryPolicy{}),
		sinks.WithRetryPolicy(sinks.RetryPolicy{RetryOverride: sinks.RetryOverride{
			MaxAttempts: &one, MaxBackoff: ptr(sinks.Duration(50 * time.Millisecond)), BaseBackoff: ptr(sinks.Duration(10 * time.Millisecond))}}))
	s, _ := webhook.New("hook", webhook.Config{URL: hook.URL})
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	var logged testenv.Buffer
	d, q := startDispatcherOn(t, reg, store, sinks.WithDispatcherLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := d.Enqueue(t.Context(), "hook", nil, sinks.Message{Subject: "keep me"}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the terminal failure", func() bool { return hook.Attempts() == 1 })
	testenv.WaitFor(t, "three turns of the DLQ retry", func() bool { return dlq.refusals() >= 3 })
	if n, _ := q.Pending("hook"); n != 1 {
		t.Fatalf("pending = %d while the DLQ is down, want the message kept", n)
	}
	// The outage is logged, once: not at every turn of every message.
	if n := strings.Count(logged.String(), "the DLQ refused a message"); n != 1 {
		t.Fatalf("%d refusals logged %d lines, want 1:\n%s", dlq.refusals(), n, logged.String())
	}
	dlq.mu.Lock()
	dlq.down = false
	dlq.mu.Unlock()
	testenv.WaitFor(t, "the dead letter", func() bool { n, _ := dlq.Count(t.Context(), ""); return n == 1 })
	if hook.Attempts() != 1 {
		t.Errorf("the sink saw %d requests; a message waiting for the DLQ must not be sent again", hook.Attempts())
	}
}

// startDispatcher starts a Dispatcher of reg over a FileQueue in a temp
// dir; both are closed when the test ends.
func startDispatcher(t *testing.T, reg *sinks.Registry) (*sinks.Dispatcher, sinks.Queue) {
	t.Helper()
	return startDispatcherOn(t, reg, fileQueues(t.TempDir()))
}

// startDispatcherOn starts a Dispatcher of reg over a queue of store; both
// are closed when the test ends.
func startDispatcherOn(t *testing.T, reg *sinks.Registry, store queueStore, opts ...sinks.DispatcherOption) (*sinks.Dispatcher, sinks.Queue) {
	t.Helper()
	q := store(t)
	t.Cleanup(func() { _ = q.Close() })
	d, err := sinks.NewDispatcher(reg, q, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	return d, q
}

func ptr[T any](v T) *T { return &v }

func TestNewDispatcherNeedsDeliveryPolicyAndDLQ(t *testing.T) {
	q, err := sinks.OpenFileQueue(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, reg := range []*sinks.Registry{
		sinks.NewRegistry(sinks.WithDLQ(sinks.NewMemoryDLQ())),
		sinks.NewRegistry(sinks.WithDeliveryPolicy(sinks.DeliveryPolicy{})),
	} {
		if _, err := sinks.NewDispatcher(reg, q); !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Errorf("NewDispatcher = %v, want ErrInvalidArgument", err)
		}
	}
}

// A message enqueued while the only one in flight hangs takes the sink's
// free slot at once: the queue log is followed, not replayed a snapshot at
// a time behind the hanging send.
func testDispatcherSendsNewMessagesBesideAHangingOne(t *testing.T, store queueStore) {
	hook := testenv.NewReceiver(t)
	hook.Hold()
	e := newEngine(t, store, map[string]any{
		"per_sink": map[string]any{"slow": map[string]any{"concurrency": 2}},
	}, nil, map[string]*testenv.Receiver{"slow": hook}, func(_ string, c *webhook.Config) {
		c.Timeout = time.Minute // the first send hangs until the test ends it
	})
	e.enqueue(t, "slow", 1)
	testenv.WaitFor(t, "the first send to hang", func() bool { return hook.InFlight() == 1 })
	e.enqueue(t, "slow", 19)
	testenv.WaitFor(t, "a second send beside the hanging one", func() bool { return hook.InFlight() == 2 })
	if hook.Attempts() != 2 || hook.Total() != 0 || hook.MostInFlight() != 2 {
		t.Fatalf("%d sends, %d delivered, at most %d in flight; want the first still hanging beside the second",
			hook.Attempts(), hook.Total(), hook.MostInFlight())
	}
	hook.Release()
	testenv.WaitFor(t, "all 20 messages", func() bool { return hook.Total() == 20 })
	for id, n := range hook.Delivered() {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}
