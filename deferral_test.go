package dletter

import (
	"context"
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// Point 6: an item that is not due never holds up the due items after it.
// The due ones are delivered without any wait; the others are delivered in
// the order they become due, each once it is due.
func TestReplayDueItemsDoNotWaitBehindNotDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		logN(t, b.l, 0, 1, 5) // due 16s after it was logged (+10% jitter)
		logN(t, b.l, 1, 1, 3) // due after 4s (+10%)
		logN(t, b.l, 2, 2, 1) // due after 1s (+10%)
		time.Sleep(2 * time.Second)
		start := time.Now()

		delivered := make(chan string, 10)
		c := &collector{fail: func(id string) error { delivered <- id; return nil }}
		errc := make(chan error, 1)
		go func() {
			errc <- b.l.Replay(context.Background(), c.handle, ReplayOptions{InitialWait: time.Second, MaxWait: time.Hour})
		}()
		// expect returns how long after start the items were delivered.
		expect := func(ids ...string) time.Duration {
			t.Helper()
			for _, want := range ids {
				select {
				case got := <-delivered:
					if got != want {
						t.Fatalf("delivered %s, want %s", got, want)
					}
				case err := <-errc:
					t.Fatalf("Replay returned %v before delivering %s", err, want)
				case <-time.After(time.Minute):
					t.Fatalf("%s not delivered", want)
				}
			}
			return time.Since(start)
		}
		if at := expect(id(2), id(3)); at != 0 {
			t.Fatalf("the due items were delivered after %v", at)
		}
		synctest.Wait() // Replay waits for the others
		if n, _ := b.l.Count(RetryLog); n != 2 {
			t.Fatalf("Count = %d while two items wait", n)
		}
		select {
		case got := <-delivered:
			t.Fatalf("%s delivered before it was due", got)
		default:
		}
		if at := expect(id(1)); at < 2*time.Second || at > 2400*time.Millisecond {
			t.Fatalf("the item due 4s after it was logged, 2s ago, came %v later", at)
		}
		if at := expect(id(0)); at < 14*time.Second || at > 15600*time.Millisecond {
			t.Fatalf("the item due 16s after it was logged, 2s ago, came %v later", at)
		}
		if err := <-errc; err != nil {
			t.Fatalf("Replay = %v", err)
		}
		if n, _ := b.l.Count(RetryLog); n != 0 {
			t.Fatalf("Count = %d after Replay", n)
		}
		if ids := itemIDs(t, b.l, RetryLog); len(ids) != 0 {
			t.Fatalf("left in the retry log: %v", ids)
		}
	})
}

// A Replay stopped while it waits leaves the items not yet due, unchanged
// (id, attempt, times), in a rotated file that the next Replay consumes; the
// items logged meanwhile come after them.
func TestReplayStoppedWhileWaitingKeepsDeferredItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		logN(t, b.l, 0, 2, 2)
		before := retryItems(t, b.l)
		ctx, cancel := context.WithCancel(context.Background())
		c := &collector{}
		errc := make(chan error, 1)
		go func() { errc <- b.l.Replay(ctx, c.handle, ReplayOptions{InitialWait: time.Second}) }()
		synctest.Wait() // Replay set both items aside and waits
		if len(c.got()) != 0 {
			t.Fatalf("delivered %v before they were due", c.got())
		}
		logN(t, b.l, 2, 1, 1) // logged during the wait
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Replay = %v, want context.Canceled", err)
		}
		after := retryItems(t, b.l)
		if len(after) != 3 {
			t.Fatalf("retry log holds %d items, want 3", len(after))
		}
		if string(after[2].Payload) != `{"id":"`+id(2)+`"}` {
			t.Fatalf("the item logged during the wait is not last: %s", after[2].Payload)
		}
		byID := map[string]Item{after[0].ID: after[0], after[1].ID: after[1]}
		for _, it := range before {
			got := byID[it.ID]
			if got.ID != it.ID || got.Attempt != it.Attempt || got.Timestamp != it.Timestamp ||
				got.FirstFailure != it.FirstFailure || string(got.Payload) != string(it.Payload) {
				t.Fatalf("deferred item changed: %+v, was %+v", got, it)
			}
		}
		if n, _ := b.l.Count(RetryLog); n != 3 {
			t.Fatalf("Count = %d, want 3", n)
		}
		time.Sleep(time.Hour)
		replayAll(t, b.l, c, ReplayOptions{InitialWait: time.Second})
		if got := c.got(); len(got) != 3 || !equal(sorted(got[:2]), wantIDs(0, 2)) || got[2] != id(2) {
			t.Fatalf("delivered %v", c.got())
		}
	})
}

func retryItems(t *testing.T, l *Logger) []Item {
	t.Helper()
	var out []Item
	for it, err := range l.Items(RetryLog, OldestFirst) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, it)
	}
	return out
}

// A sorted copy of a deferral file left by a crash is removed by the
// background work; the deferral file itself stays and is replayed.
func TestLeftoverSortedDeferralIsRemoved(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 1, 1)
	if err := b.l.Rotate(); err != nil {
		t.Fatal(err)
	}
	bs, err := b.l.retry.fam.list()
	if err != nil || len(bs) != 1 {
		t.Fatalf("backups %v, %v", bs, err)
	}
	tmp := bs[0].path + ".tmp"
	if err := os.WriteFile(tmp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.l.maintainLog(b.l.retry)
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover %s: %v", tmp, err)
	}
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	if !equal(c.got(), wantIDs(0, 1)) {
		t.Fatalf("delivered %v", c.got())
	}
}
