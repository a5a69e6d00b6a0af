package dletter

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestReplayDeliversInOrderAndConsumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		logN(t, b.l, 0, 5, 1)
		if err := b.l.Rotate(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		logN(t, b.l, 5, 5, 1)
		c := &collector{}
		replayAll(t, b.l, c, ReplayOptions{MaxAttempts: 3})
		if !equal(c.got(), wantIDs(0, 10)) {
			t.Fatalf("delivered %v", c.got())
		}
		// Everything consumed: nothing left but the empty active files.
		for _, f := range files(t, b.dir) {
			if strings.Contains(f, "T") && !strings.HasSuffix(f, ".lock") {
				t.Fatalf("left behind: %s", f)
			}
		}
		c2 := &collector{}
		replayAll(t, b.l, c2, ReplayOptions{})
		if len(c2.got()) != 0 {
			t.Fatalf("second Replay delivered %v", c2.got())
		}
	})
}

// Point 5: a failed item is re-logged with attempt+1, its id and first
// failure time, before the source line counts as consumed; at MaxAttempts it
// moves to the permanent log with its reason as plain text.
func TestReplayRelogsThenMovesToPermanent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		first := time.Now().Unix()
		logN(t, b.l, 0, 1, 1)
		origID := itemIDs(t, b.l, RetryLog)[0]
		fail := &collector{fail: func(string) error { return errors.New(`still "down"`) }}
		for attempt := 2; attempt <= 3; attempt++ {
			time.Sleep(time.Hour)
			replayAll(t, b.l, fail, ReplayOptions{MaxAttempts: 3})
			var items []Item
			for it, err := range b.l.Items(RetryLog, OldestFirst) {
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, it)
			}
			if len(items) != 1 {
				t.Fatalf("after attempt %d: %d items", attempt, len(items))
			}
			it := items[0]
			if it.Attempt != attempt || it.ID != origID || it.FirstFailure != first ||
				it.Timestamp != time.Now().Unix() || it.Reason != `still "down"` {
				t.Fatalf("re-logged item %+v (want attempt %d, id %s, first %d)", it, attempt, origID, first)
			}
		}
		time.Sleep(time.Hour)
		replayAll(t, b.l, fail, ReplayOptions{MaxAttempts: 3})
		if fail.n.Load() != 2 {
			t.Fatalf("handler called %d times, want 2", fail.n.Load())
		}
		var perm []Item
		for it, err := range b.l.Items(PermanentLog, OldestFirst) {
			if err != nil {
				t.Fatal(err)
			}
			perm = append(perm, it)
		}
		if len(perm) != 1 || perm[0].Reason != `still "down"` || perm[0].ID != origID || perm[0].Attempt != 3 {
			t.Fatalf("permanent log %+v", perm)
		}
		if n, _ := b.l.Count(RetryLog); n != 0 {
			t.Fatalf("%d items left in the retry log", n)
		}
	})
}

// Point 5: when the re-log cannot be written, Replay stops with an error and
// the source line stays for the next Replay.
func TestReplayRelogFailureKeepsSource(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 3, 1)
	closing := &collector{fail: func(id string) error {
		if id == id1 {
			// Make the re-log of this failure impossible to write.
			_ = b.l.retry.app.Close()
			return errors.New("boom")
		}
		return nil
	}}
	err := b.l.Replay(context.Background(), closing.handle, ReplayOptions{})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay = %v, want ErrClosed", err)
	}
	b.reopen(t)
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	if !equal(c.got(), wantIDs(1, 2)) {
		t.Fatalf("after reopening delivered %v, want ord-000001 and ord-000002", c.got())
	}
}

var id1 = id(1)

// Point 6: the backoff is computed from stored data, overflow-safe.
func TestBackoff(t *testing.T) {
	cases := []struct {
		initial time.Duration
		attempt int
		want    time.Duration
	}{
		{time.Second, 1, time.Second},
		{time.Second, 0, time.Second},
		{time.Second, -3, time.Second},
		{time.Second, 3, 4 * time.Second},
		{time.Second, 6, 30 * time.Second},
		{time.Second, 64, 30 * time.Second},
		{time.Second, math.MaxInt, 30 * time.Second},
		{time.Duration(math.MaxInt64), 2, 30 * time.Second},
		{0, 5, 0},
	}
	for _, tc := range cases {
		if got := backoff(tc.initial, DefaultMaxWait, tc.attempt); got != tc.want {
			t.Errorf("backoff(%v, %d) = %v, want %v", tc.initial, tc.attempt, got, tc.want)
		}
	}
	o := &ReplayOptions{InitialWait: 10 * time.Second}
	now := time.Unix(1000, 0)
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		due := dueAt(1000, 1, o, now, rnd)
		if d := due.Sub(now); d < 10*time.Second || d >= 11*time.Second {
			t.Fatalf("due after %v, want [10s, 11s)", d)
		}
	}
	if due := dueAt(900, 1, o, now, rnd); due.After(now) {
		t.Fatalf("an overdue item is due at %v, after now", due)
	}
	if due := dueAt(math.MaxInt64, math.MaxInt32, o, now, rnd); due.Sub(now) > 33*time.Second {
		t.Fatalf("a future timestamp waits %v", due.Sub(now))
	}
}

// Point 6: Replay does not wait for items that are due, waits for those that
// are not, and stops promptly when the context is cancelled.
func TestReplayWaitsOnlyForItemsNotDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		logN(t, b.l, 0, 3, 1)
		time.Sleep(time.Hour) // everything is due
		c := &collector{}
		start := time.Now()
		replayAll(t, b.l, c, ReplayOptions{InitialWait: time.Minute, MaxWait: time.Hour})
		if el := time.Since(start); el != 0 || len(c.got()) != 3 {
			t.Fatalf("due items: %d delivered after waiting %v", len(c.got()), el)
		}

		logN(t, b.l, 3, 1, 1) // due in 30s (the default cap) plus jitter
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- b.l.Replay(ctx, c.handle, ReplayOptions{InitialWait: time.Minute}) }()
		time.Sleep(29 * time.Second)
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Replay returned %v before the item was due", err)
		default:
		}
		cancel()
		synctest.Wait()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Replay = %v, want context.Canceled", err)
			}
		default:
			t.Fatal("Replay did not stop at once on cancel")
		}
		if n, _ := b.l.Count(RetryLog); n != 1 {
			t.Fatalf("the waiting item was not kept: Count = %d", n)
		}
		time.Sleep(time.Hour)
		replayAll(t, b.l, c, ReplayOptions{InitialWait: time.Minute})
		if !equal(c.got(), wantIDs(0, 4)) {
			t.Fatalf("delivered %v", c.got())
		}
	})
}

// Point 7: lines of any size are read back; bad lines are quarantined with a
// count and do not block the lines after them.
func TestReplayGiantLinesAndQuarantine(t *testing.T) {
	b := setup(t)
	giant := strings.Repeat("g", 5<<20)
	if err := Log(b.l, &order{ID: giant}, errTest, 1); err != nil {
		t.Fatal(err)
	}
	bad := []string{"not json", `{"ts":1,"attempt":1,"reason":"no payload"}`, `{"ts":1,"payload":{"id":"x"}`, "\x00\x00\x00"}
	f, err := os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bad {
		_, _ = f.WriteString(l + "\n")
	}
	_, _ = f.WriteString("\n   \n") // blank lines carry nothing and are skipped
	_ = f.Close()
	b.reopen(t)
	logN(t, b.l, 0, 2, 1)
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	got := c.got()
	if len(got) != 3 || got[0] != giant || got[1] != id(0) || got[2] != id(1) {
		t.Fatalf("delivered %d items", len(got))
	}
	q := lines(t, filepath.Join(b.dir, "quarantine-orders.log"))
	if len(q) != len(bad) {
		t.Fatalf("quarantine holds %q", q)
	}
	for i := range bad {
		if q[i] != bad[i] {
			t.Fatalf("quarantined line %d = %q, want %q", i, q[i], bad[i])
		}
	}
	st, err := b.l.Stats()
	if err != nil || st.Quarantined != int64(len(bad)) {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
	if !strings.Contains(b.logs.String(), "quarantine") {
		t.Fatal("quarantined lines were not reported")
	}
}

// Point 8: only the logger's own files are consumed.
func TestReplayLeavesOtherFilesAlone(t *testing.T) {
	b := setup(t)
	foreign := map[string]string{
		"orders-foo.log":                         seedLine(1, 1, "x", `{"id":"foreign"}`),
		"orders-2024-01-01T00-00-00.000.txt":     seedLine(1, 1, "x", `{"id":"foreign"}`),
		"orders-2024-01-01T00-00-00.log":         seedLine(1, 1, "x", `{"id":"foreign"}`),
		"myorders-2024-01-01T00-00-00.000.log":   seedLine(1, 1, "x", `{"id":"foreign"}`),
		"payments-2024-01-01T00-00-00.000.log":   seedLine(1, 1, "x", `{"id":"foreign"}`),
		"orders-2024-13-01T00-00-00.000.log":     seedLine(1, 1, "x", `{"id":"foreign"}`),
		"orders-2024-01-01T00-00-00.000.log.bak": seedLine(1, 1, "x", `{"id":"foreign"}`),
	}
	for name, content := range foreign {
		if err := os.WriteFile(filepath.Join(b.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logN(t, b.l, 0, 1, 1)
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	if !equal(c.got(), wantIDs(0, 1)) {
		t.Fatalf("delivered %v", c.got())
	}
	for name, content := range foreign {
		got, err := os.ReadFile(filepath.Join(b.dir, name))
		if err != nil || string(got) != content {
			t.Fatalf("%s was touched: %v", name, err)
		}
	}
}

// Point 9: two concurrent Replay calls never deliver an item twice; Log
// during Replay is safe and its items come with the next Replay.
func TestConcurrentReplay(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 500, 1)
	c := &collector{}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replayAll(t, b.l, c, ReplayOptions{})
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		logN(t, b.l, 500, 100, 1)
	}()
	wg.Wait()
	replayAll(t, b.l, c, ReplayOptions{})
	got := sorted(c.got())
	if !equal(got, wantIDs(0, 600)) {
		t.Fatalf("delivered %d items (%d distinct wanted)", len(got), 600)
	}
}

// Point 9: a handler may call Log.
func TestReplayHandlerMayLog(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 3, 1)
	c := &collector{fail: func(id string) error {
		return Log(b.l, &order{ID: id + "-again"}, errTest, 1)
	}}
	replayAll(t, b.l, c, ReplayOptions{})
	if n, _ := b.l.Count(RetryLog); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
}

// Point 10: Close stops a running Replay, which returns ErrClosed with the
// rest resumable; Close is idempotent and stops every goroutine.
func TestCloseStopsReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		logN(t, b.l, 0, 2, 1)
		time.Sleep(24 * time.Hour) // the first two are due
		logN(t, b.l, 2, 1, 1)      // this one waits an hour
		c := &collector{}
		errc := make(chan error, 1)
		go func() { errc <- b.l.Replay(context.Background(), c.handle, ReplayOptions{InitialWait: time.Hour}) }()
		synctest.Wait() // Replay delivered the due items and waits
		if got := c.got(); !equal(got, wantIDs(0, 2)) {
			t.Fatalf("delivered %v before the wait", got)
		}
		if err := b.l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("Replay stopped by Close = %v, want ErrClosed", err)
		}
		if err := b.l.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if err := b.l.Replay(context.Background(), c.handle, ReplayOptions{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Replay after Close = %v", err)
		}
		b.l = b.open(t) // the waiting item is still there
		replayAll(t, b.l, c, ReplayOptions{})
		if got := c.got(); !equal(got, wantIDs(0, 3)) {
			t.Fatalf("delivered %v after reopening", got)
		}
	})
}

func TestReplayRejectsBadOptions(t *testing.T) {
	b := setup(t)
	for _, o := range []ReplayOptions{{MaxAttempts: -1}, {InitialWait: -1}, {MaxWait: -1}} {
		if err := b.l.Replay(context.Background(), func([]byte) error { return nil }, o); err == nil {
			t.Fatalf("Replay accepted %+v", o)
		}
	}
	if err := b.l.Replay(context.Background(), nil, ReplayOptions{}); err == nil {
		t.Fatal("Replay accepted a nil handler")
	}
}

// Point 4: a Replay stopped in the middle of a file resumes at the next
// line: handled, permanent and quarantined lines all count.
func TestReplayResumesAtCheckpoint(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 4, 1)
	logN(t, b.l, 4, 1, 9) // goes to the permanent log
	f, _ := os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.WriteString("garbage\n")
	_ = f.Close()
	logN(t, b.l, 5, 3, 1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{fail: func(id string) error {
		if id == "ord-000006" {
			cancel()
			return context.Canceled
		}
		return nil
	}}
	// The item whose handler saw the cancel fails and is re-logged.
	if err := b.l.Replay(ctx, c.handle, ReplayOptions{MaxAttempts: 5}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Replay = %v", err)
	}
	b.reopen(t)
	c2 := &collector{}
	replayAll(t, b.l, c2, ReplayOptions{MaxAttempts: 5})
	want := []string{id(0), id(1), id(2), id(3), id(5)}
	if !equal(c.got(), want) {
		t.Fatalf("first run delivered %v", c.got())
	}
	if !equal(c2.got(), []string{id(7), id(6)}) {
		t.Fatalf("second run delivered %v, want ord-000007 then the re-logged ord-000006", c2.got())
	}
	if n, _ := b.l.Count(PermanentLog); n != 1 {
		t.Fatalf("permanent items %d", n)
	}
	if q := lines(t, filepath.Join(b.dir, "quarantine-orders.log")); len(q) != 1 {
		t.Fatalf("quarantine %q", q)
	}
}

func itemIDs(t *testing.T, l *Logger, k Kind) []string {
	t.Helper()
	var out []string
	for it, err := range l.Items(k, OldestFirst) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, it.ID)
	}
	return out
}
