package dletter

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// Point 6: an item that is not due never holds up the due items after it.
// The due ones are delivered without any wait; the others are delivered in
// the order they become due, each once it is due, by the injected clock.
func TestReplayDueItemsDoNotWaitBehindNotDue(t *testing.T) {
	b := setup(t)
	b.l.after = b.clock.after
	logN(t, b.l, 0, 1, 5) // due in 16s (+10% jitter)
	logN(t, b.l, 1, 1, 3) // due in 4s (+10%)
	b.clock.Add(-time.Hour)
	logN(t, b.l, 2, 2, 1) // failed an hour ago: due
	b.clock.Add(time.Hour)

	delivered := make(chan string, 10)
	c := &collector{fail: func(id string) error { delivered <- id; return nil }}
	errc := make(chan error, 1)
	go func() {
		errc <- b.l.Replay(context.Background(), c.handle, ReplayOptions{InitialWait: time.Second, MaxWait: time.Hour})
	}()
	expect := func(ids ...string) {
		t.Helper()
		for _, want := range ids {
			select {
			case got := <-delivered:
				if got != want {
					t.Fatalf("delivered %s, want %s", got, want)
				}
			case err := <-errc:
				t.Fatalf("Replay returned %v before delivering %s", err, want)
			case <-time.After(10 * time.Second):
				t.Fatalf("%s not delivered", want)
			}
		}
	}
	expect(id(2), id(3)) // the clock has not moved: no wait
	d := b.clock.nextWait(t)
	if d < 4*time.Second || d > 4400*time.Millisecond {
		t.Fatalf("Replay waits %v for the item due in 4s", d)
	}
	if n, _ := b.l.Count(RetryLog); n != 2 {
		t.Fatalf("Count = %d while two items wait", n)
	}
	select {
	case got := <-delivered:
		t.Fatalf("%s delivered before the clock moved", got)
	default:
	}
	b.clock.Add(5 * time.Second)
	expect(id(1))
	d = b.clock.nextWait(t)
	if d < 11*time.Second || d > 12600*time.Millisecond {
		t.Fatalf("Replay waits %v for the item due in 16s, 5s later", d)
	}
	b.clock.Add(13 * time.Second)
	expect(id(0))
	if err := <-errc; err != nil {
		t.Fatalf("Replay = %v", err)
	}
	if n, _ := b.l.Count(RetryLog); n != 0 {
		t.Fatalf("Count = %d after Replay", n)
	}
	if ids := itemIDs(t, b.l, RetryLog); len(ids) != 0 {
		t.Fatalf("left in the retry log: %v", ids)
	}
}

// A Replay stopped while it waits leaves the items not yet due, unchanged
// (id, attempt, times), in a rotated file that the next Replay consumes; the
// items logged meanwhile come after them.
func TestReplayStoppedWhileWaitingKeepsDeferredItems(t *testing.T) {
	b := setup(t)
	b.l.after = b.clock.after
	logN(t, b.l, 0, 2, 2)
	before := retryItems(t, b.l)
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	errc := make(chan error, 1)
	go func() { errc <- b.l.Replay(ctx, c.handle, ReplayOptions{InitialWait: time.Second}) }()
	b.clock.nextWait(t)
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
	b.clock.Add(time.Hour)
	replayAll(t, b.l, c, ReplayOptions{InitialWait: time.Second})
	if got := c.got(); len(got) != 3 || !equal(sorted(got[:2]), wantIDs(0, 2)) || got[2] != id(2) {
		t.Fatalf("delivered %v", c.got())
	}
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
