package dletter

import (
	"context"
	"encoding/json"
	"testing"
)

func TestItemsAndStats(t *testing.T) {
	b := setup(t, WithCompress(true))
	logN(t, b.l, 0, 3, 1)
	if err := b.l.Rotate(); err != nil {
		t.Fatal(err)
	}
	b.l.maintainLog(b.l.retry) // compress the first backup
	logN(t, b.l, 3, 3, 1)
	if err := b.l.Rotate(); err != nil {
		t.Fatal(err)
	}
	logN(t, b.l, 6, 3, 1)
	// Consume the first item of the oldest (compressed) backup.
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{fail: func(string) error { cancel(); return nil }}
	_ = b.l.Replay(ctx, c.handle, ReplayOptions{})
	if !equal(c.got(), wantIDs(0, 1)) {
		t.Fatalf("setup replay delivered %v", c.got())
	}
	if err := LogPermanent(b.l, &order{ID: "p1"}, "no"); err != nil {
		t.Fatal(err)
	}
	if err := LogPermanent(b.l, &order{ID: "p2"}, "no"); err != nil {
		t.Fatal(err)
	}

	payloadIDs := func(k Kind, o Order) []string {
		var out []string
		for it, err := range b.l.Items(k, o) {
			if err != nil {
				t.Fatal(err)
			}
			var p order
			if err := json.Unmarshal(it.Payload, &p); err != nil {
				t.Fatal(err)
			}
			if it.Line < 1 || it.File == "" || it.ID == "" {
				t.Fatalf("item without position or id: %+v", it)
			}
			out = append(out, p.ID)
		}
		return out
	}
	// Pending: 1..8 across a compressed backup (read past its checkpoint),
	// a plain backup and the active file's rotation by Replay.
	want := wantIDs(1, 8)
	if got := payloadIDs(RetryLog, OldestFirst); !equal(got, want) {
		t.Fatalf("oldest first: %v", got)
	}
	rev := append([]string(nil), want...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if got := payloadIDs(RetryLog, NewestFirst); !equal(got, rev) {
		t.Fatalf("newest first: %v", got)
	}
	if got := payloadIDs(PermanentLog, NewestFirst); !equal(got, []string{"p2", "p1"}) {
		t.Fatalf("permanent newest first: %v", got)
	}
	// Stopping early works.
	n := 0
	for range b.l.Items(RetryLog, NewestFirst) {
		n++
		if n == 2 {
			break
		}
	}
	if cnt, err := b.l.Count(RetryLog); err != nil || cnt != 8 {
		t.Fatalf("Count = %d, %v", cnt, err)
	}
	st, err := b.l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 8 || st.Permanent != 2 || st.Bytes == 0 || st.Backups < 2 || st.Quarantined != 0 || st.Dropped != 0 {
		t.Fatalf("Stats = %+v", st)
	}
	// Inspection consumed nothing.
	all := &collector{}
	replayAll(t, b.l, all, ReplayOptions{})
	if !equal(all.got(), want) {
		t.Fatalf("replay after inspection delivered %v", all.got())
	}
}

// Count stays exact as the logs change under its cache: appends, rotation,
// a partial Replay, compression, a full Replay.
func TestCountFollowsChanges(t *testing.T) {
	b := setup(t, WithCompress(true))
	want := func(n int64) {
		t.Helper()
		got, err := b.l.Count(RetryLog)
		if err != nil || got != n {
			t.Fatalf("Count = %d, %v; want %d", got, err, n)
		}
		st, err := b.l.Stats()
		if err != nil || st.Pending != n {
			t.Fatalf("Stats.Pending = %d, %v; want %d", st.Pending, err, n)
		}
	}
	want(0)
	logN(t, b.l, 0, 5, 1)
	want(5)
	logN(t, b.l, 5, 3, 1)
	want(8)
	if err := b.l.Rotate(); err != nil {
		t.Fatal(err)
	}
	want(8)
	logN(t, b.l, 8, 2, 1)
	want(10)
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{fail: func(id string) error {
		if id == "ord-000002" {
			cancel()
		}
		return nil
	}}
	_ = b.l.Replay(ctx, c.handle, ReplayOptions{})
	want(7)
	b.l.maintainLog(b.l.retry) // compress
	want(7)
	replayAll(t, b.l, c, ReplayOptions{})
	want(0)
	logN(t, b.l, 10, 1, 1)
	want(1)
}
