package dletter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// scanned counts the items of one log by reading every file (Items).
func scanned(t *testing.T, l *Logger, k Kind) int64 {
	t.Helper()
	var n int64
	for _, err := range l.Items(k, OldestFirst) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// checkCounts asserts that Count and Stats agree with a full read of the
// files.
func checkCounts(t *testing.T, b *bundle, when string) {
	t.Helper()
	st, err := b.l.Stats()
	if err != nil {
		t.Fatalf("%s: Stats: %v", when, err)
	}
	q := int64(0)
	if _, err := os.Stat(filepath.Join(b.dir, "quarantine-orders.log")); err == nil {
		q = int64(len(lines(t, filepath.Join(b.dir, "quarantine-orders.log"))))
	}
	want := Stats{Pending: scanned(t, b.l, RetryLog), Permanent: scanned(t, b.l, PermanentLog), Quarantined: q}
	if st.Pending != want.Pending || st.Permanent != want.Permanent || st.Quarantined != want.Quarantined {
		t.Fatalf("%s: Stats = %+v; the files hold %d pending, %d permanent, %d quarantined",
			when, st, want.Pending, want.Permanent, want.Quarantined)
	}
	for k, w := range map[Kind]int64{RetryLog: want.Pending, PermanentLog: want.Permanent} {
		if n, err := b.l.Count(k); err != nil || n != w {
			t.Fatalf("%s: Count(%d) = %d, %v; want %d", when, k, n, err, w)
		}
	}
}

// The kept counts match what the files hold through every change: Log,
// LogPermanent, rotation, a Replay that re-logs, moves, quarantines, defers
// and is stopped, compression, reopening, lossy retention.
func TestCountsStayExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := []Option{WithCompress(true), WithMaxBackups(1), WithLossyRetention(true), WithMaxAge(0)}
		b := setup(t, opts...)
		checkCounts(t, b, "empty")
		logN(t, b.l, 0, 10, 1)
		logN(t, b.l, 10, 3, 7) // moved to the permanent log by MaxAttempts 5
		if err := LogPermanent(b.l, &order{ID: "p"}, "bad"); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("garbage\n\n")
		_ = f.Close()
		b.reopen(t, opts...) // counts what another writer appended
		checkCounts(t, b, "after reopen")
		time.Sleep(time.Hour)
		logN(t, b.l, 20, 2, 1) // not due at the Replay below
		checkCounts(t, b, "after Log")

		ctx, cancel := context.WithCancel(context.Background())
		c := &collector{fail: func(got string) error {
			if got == id(3) || got == id(4) {
				return errors.New("down") // re-logged
			}
			return nil
		}}
		errc := make(chan error, 1)
		go func() {
			errc <- b.l.Replay(ctx, c.handle, ReplayOptions{MaxAttempts: 5, InitialWait: time.Second})
		}()
		synctest.Wait() // the pass is done, two items wait in the deferral file
		checkCounts(t, b, "while Replay waits")
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Replay = %v", err)
		}
		checkCounts(t, b, "after a stopped Replay")
		b.l.maintainLog(b.l.retry) // compresses the rotated files
		checkCounts(t, b, "after compression")
		b.reopen(t, opts...)
		checkCounts(t, b, "after reopen with compressed files")

		logN(t, b.l, 30, 4, 1)
		for range 2 {
			if err := b.l.Rotate(); err != nil {
				t.Fatal(err)
			}
			logN(t, b.l, 40, 1, 1)
		}
		b.l.maintainLog(b.l.retry) // lossy retention drops all but one rotated file
		if st, _ := b.l.Stats(); st.Dropped == 0 {
			t.Fatalf("nothing dropped: %+v", st)
		}
		checkCounts(t, b, "after lossy retention")
		time.Sleep(time.Hour)
		replayAll(t, b.l, &collector{}, ReplayOptions{MaxAttempts: 5, InitialWait: time.Second})
		checkCounts(t, b, "after a full Replay")
		if n, _ := b.l.Count(RetryLog); n != 0 {
			t.Fatalf("Count = %d after a full Replay, want 0", n)
		}
	})
}

// Count and Stats read no file's content: they answer from the kept counts,
// so a rotated file overwritten behind the Logger's back does not change
// them (a Count that read the files would see 20 items).
func TestStatsReadsNoItems(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 100, 1)
	if err := b.l.Rotate(); err != nil {
		t.Fatal(err)
	}
	logN(t, b.l, 100, 20, 1)
	bs, err := b.l.retry.fam.list()
	if err != nil || len(bs) != 1 {
		t.Fatalf("backups %v, %v", bs, err)
	}
	if err := os.WriteFile(bs[0].path, []byte("not an item\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := b.l.Stats()
	if err != nil || st.Pending != 120 {
		t.Fatalf("Stats = %+v, %v; want 120 pending", st, err)
	}
	if n, err := b.l.Count(RetryLog); err != nil || n != 120 {
		t.Fatalf("Count = %d, %v; want 120", n, err)
	}
}
