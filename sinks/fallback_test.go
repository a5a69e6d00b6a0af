package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/dlqtest"
)

// fastFailClient is a client that gives up quickly on a dead server.
func fastFailClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:         addr,
		DialTimeout:  200 * time.Millisecond,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
		MaxRetries:   1,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newFallback(t *testing.T, primary sinks.OnceStore, local sinks.Store) *sinks.FallbackDLQ {
	t.Helper()
	f, err := sinks.NewFallbackDLQ(primary, local, sinks.WithMoveInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// waitMoved waits until the local store is empty and the primary up.
func waitMoved(t *testing.T, f *sinks.FallbackDLQ) sinks.FallbackStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := f.Status(context.Background())
		if err == nil && st.Pending == 0 && !st.PrimaryDown {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("items still waiting to move: %+v, %v", st, err)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
}

// subjectsOnce reads every item of the primary through a fresh client and
// checks that subjects 0..n-1 are there exactly once each.
func subjectsOnce(t *testing.T, addr, prefix string, n int) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	items, err := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix(prefix)).Items(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]int, n)
	for _, it := range items {
		seen[it.Message.Subject]++
	}
	for i := range n {
		if k := seen[strconv.Itoa(i)]; k != 1 {
			t.Errorf("item %d is in Redis %d times", i, k)
		}
	}
	if len(items) != n {
		t.Errorf("Redis holds %d items, want %d", len(items), n)
	}
}

func TestFallbackDLQKillRedisMidStream(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithPersistence())
	primary := sinks.NewRedisDLQ(fastFailClient(t, srv.Addr), sinks.WithKeyPrefix("fb"), sinks.WithMaxLen(0), sinks.WithPushTimeout(time.Second))
	local, err := sinks.OpenFileDLQ(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newFallback(t, primary, local)

	const n = 3000
	var pushed atomic.Int64
	milestones := map[int64]chan struct{}{n / 3: make(chan struct{}), 2 * n / 3: make(chan struct{})}
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for i := range n {
			// A caller that gave up already: nothing may be lost for it.
			ctx, cancel := context.WithCancel(context.Background())
			if i%2 == 0 {
				cancel()
			}
			_, err := f.Add(ctx, sinks.DLQItem{Sink: []string{"mail", "hook"}[i%2], Message: sinks.Message{Subject: strconv.Itoa(i)}})
			cancel()
			if err != nil {
				errs <- fmt.Errorf("push %d: %w", i, err)
				return
			}
			if ch, ok := milestones[pushed.Add(1)]; ok {
				close(ch)
			}
		}
	}()
	wait := func(ch chan struct{}) {
		select {
		case <-ch:
		case err := <-errs:
			t.Fatalf("pusher stopped: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatalf("pusher stuck at %d", pushed.Load())
		}
	}
	wait(milestones[n/3])
	srv.Kill()
	wait(milestones[2*n/3])
	mid, err := f.Status(context.Background())
	if err != nil || !mid.PrimaryDown || mid.Pending == 0 {
		t.Errorf("while Redis is down: %+v, %v; want the primary down and items pending", mid, err)
	}
	srv.Restart()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	st := waitMoved(t, f)
	if st.Moved == 0 {
		t.Error("no item was moved: the outage did not reach the fallback")
	}
	t.Logf("moved %d items from the local store after the outage", st.Moved)
	subjectsOnce(t, srv.Addr, "fb", n)
	if got, err := f.Count(context.Background(), ""); err != nil || got != n {
		t.Errorf("Count = %d, %v; want %d", got, err, n)
	}
}

// flakyLocal fails Discard while failDiscards > 0: the crash between the
// primary's write and the local delete, as the mover sees it.
type flakyLocal struct {
	sinks.Store
	failDiscards atomic.Int32
}

func (l *flakyLocal) Discard(ctx context.Context, id string) error {
	if l.failDiscards.Add(-1) >= 0 {
		return errors.New("disk gone")
	}
	return l.Store.Discard(ctx, id)
}

// lossyPrimary writes the first loseReplies AddOnce calls and reports an
// error anyway, as when the server died before its reply arrived.
type lossyPrimary struct {
	*sinks.RedisDLQ
	loseReplies atomic.Int32
}

func (p *lossyPrimary) AddOnce(ctx context.Context, key string, it sinks.DLQItem) (string, error) {
	id, err := p.RedisDLQ.AddOnce(ctx, key, it)
	if err == nil && p.loseReplies.Add(-1) >= 0 {
		return "", errors.New("connection reset by peer")
	}
	return id, err
}

func TestFallbackDLQMovesExactlyOnce(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := srv.Client()

	t.Run("LostReply", func(t *testing.T) {
		primary := &lossyPrimary{RedisDLQ: sinks.NewRedisDLQ(c, sinks.WithKeyPrefix("lost"))}
		primary.loseReplies.Store(3)
		f := newFallback(t, primary, sinks.NewMemoryDLQ())
		for i := range 10 {
			if err := f.Push(context.Background(), sinks.DLQItem{Sink: "mail", Message: sinks.Message{Subject: strconv.Itoa(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		waitMoved(t, f)
		if primary.loseReplies.Load() >= 0 {
			t.Fatal("no reply was lost")
		}
		subjectsOnce(t, srv.Addr, "lost", 10)
	})

	t.Run("CrashBeforeLocalDelete", func(t *testing.T) {
		primary := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix("crash"))
		local := &flakyLocal{Store: sinks.NewMemoryDLQ()}
		// Items that went to the local store during an outage.
		for i := range 5 {
			if _, err := local.Add(context.Background(), sinks.DLQItem{Sink: "mail", DeliveryID: strconv.Itoa(i), Message: sinks.Message{Subject: strconv.Itoa(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		local.failDiscards.Store(2)
		f := newFallback(t, primary, local)
		waitMoved(t, f)
		if local.failDiscards.Load() >= 0 {
			t.Fatal("no local delete failed")
		}
		subjectsOnce(t, srv.Addr, "crash", 5)
	})
}

func TestFallbackDLQKeepsRefusedItemsLocal(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	primary := sinks.NewRedisDLQ(fastFailClient(t, srv.Addr), sinks.WithKeyPrefix("refused"))
	local := sinks.NewMemoryDLQ()
	refused := &errorLog{target: sinks.ErrInvalidArgument, found: make(chan error, 1)}
	f, err := sinks.NewFallbackDLQ(primary, local, sinks.WithMoveInterval(20*time.Millisecond),
		sinks.WithLogger(slog.New(refused)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	srv.Kill()
	poison := sinks.DLQItem{Sink: strings.Repeat("s", 300), Message: sinks.Message{Subject: "poison"}}
	// The first push finds Redis down; the second goes straight to the
	// local store, which takes what Redis will refuse.
	for _, it := range []sinks.DLQItem{{Sink: "mail", Message: sinks.Message{Subject: "0"}}, poison} {
		if err := f.Push(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	srv.Restart()
	select {
	case <-refused.found:
	case <-time.After(30 * time.Second):
		t.Fatal("the mover did not log the item Redis refuses")
	}
	// The good item moved despite the refused one.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := f.Status(context.Background())
		if err == nil && st.Pending == 1 && !st.PrimaryDown {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, %v; want the good item moved and the primary up", st, err)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
	subjectsOnce(t, srv.Addr, "refused", 1)
	items, err := local.Items(context.Background(), "", 0)
	if err != nil || len(items) != 1 || items[0].Message.Subject != "poison" {
		t.Fatalf("local store holds %v, %v; want the refused item", items, err)
	}
	// Each outage was logged once when it began and once when it ended
	// (a restarted server may refuse a first move, which is an outage of
	// its own).
	var down, back int
	for _, r := range refused.records() {
		switch {
		case r.Level == slog.LevelWarn && strings.Contains(r.Message, "unavailable"):
			down++
		case r.Level == slog.LevelInfo && strings.Contains(r.Message, "is back"):
			back++
		}
	}
	if down == 0 || down != back {
		t.Fatalf("logged %d outages and %d ends, want as many of each: %v", down, back, refused.records())
	}
}

// errorLog is a slog.Handler that keeps every record and hands on the
// errors logged that match target.
type errorLog struct {
	target error
	found  chan error
	mu     sync.Mutex
	all    []slog.Record
}

func (h *errorLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *errorLog) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.all)
}

func (h *errorLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.all = append(h.all, r.Clone())
	h.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && errors.Is(err, h.target) {
			select {
			case h.found <- err:
			default:
			}
		}
		return true
	})
	return nil
}

func (h *errorLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorLog) WithGroup(string) slog.Handler      { return h }

func TestFallbackDLQConformance(t *testing.T) {
	t.Parallel()
	c := redistest.Start(t).Client()
	stores := redisStores(c)
	dlqtest.Run(t, func(t *testing.T) sinks.Store {
		f, err := sinks.NewFallbackDLQ(stores(t).(*sinks.RedisDLQ), sinks.NewMemoryDLQ())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return f
	})
}

// The crash test runs the mover in a child process (this test binary again,
// told so by these variables) and kills it with SIGKILL in the middle of
// moving items from a FileDLQ to Redis.
const (
	envCrashDir    = "DLETTER_FALLBACK_CRASH_DIR"
	envCrashAddr   = "DLETTER_FALLBACK_CRASH_ADDR"
	crashPrefix    = "crash-mover"
	crashItemCount = 5000
)

func TestFallbackDLQCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("runs only as the child of TestFallbackDLQMoverKilled")
	}
	local, err := sinks.OpenFileDLQ(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: os.Getenv(envCrashAddr)})
	f, err := sinks.NewFallbackDLQ(sinks.NewRedisDLQ(c, sinks.WithKeyPrefix(crashPrefix)), local, sinks.WithMoveInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_ = f
	select {} // move until killed
}

func TestFallbackDLQMoverKilled(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	dir := t.TempDir()
	local, err := sinks.OpenFileDLQ(dir)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]sinks.DLQItem, crashItemCount)
	for i := range items {
		items[i] = sinks.DLQItem{Sink: []string{"mail", "hook"}[i%2], Message: sinks.Message{Subject: strconv.Itoa(i)}}
		if _, err := local.Add(context.Background(), items[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := local.Close(); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^TestFallbackDLQCrashChild$", "-test.count=1")
	child.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashAddr+"="+srv.Addr)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once a third of the items are in Redis.
	c := srv.Client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix(crashPrefix)).Count(context.Background(), "")
		if err == nil && n >= crashItemCount/3 {
			break
		}
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			_ = child.Wait()
			t.Fatalf("the child moved %d items in 30s (%v)", n, err)
		}
		time.Sleep(time.Millisecond) // polling a condition, with a deadline
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	// Reopen and let a new mover finish.
	local2, err := sinks.OpenFileDLQ(dir)
	if err != nil {
		t.Fatal(err)
	}
	left, err := local2.Count(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if left == 0 {
		t.Fatal("the child was killed after it had moved everything: the test did not interrupt a move")
	}
	t.Logf("killed the mover with %d of %d items still local", left, crashItemCount)
	f := newFallback(t, sinks.NewRedisDLQ(c, sinks.WithKeyPrefix(crashPrefix)), local2)
	waitMoved(t, f)
	subjectsOnce(t, srv.Addr, crashPrefix, crashItemCount)
}
