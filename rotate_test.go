package dletter

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func backupNames(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, f := range files(t, dir) {
		if strings.HasPrefix(f, "orders-") && !strings.HasSuffix(f, stateSuffix) {
			out = append(out, f)
		}
	}
	return out
}

// Point 3: rotations in the same millisecond, or after the clock stepped
// back, take the next free millisecond: nothing is overwritten and backups
// are consumed in creation order.
func TestRotationsInOneMillisecond(t *testing.T) {
	b := setup(t)
	for i := range 5 {
		logN(t, b.l, i, 1, 1)
		if err := b.l.Rotate(); err != nil {
			t.Fatal(err)
		}
		if i == 2 { // the clock steps back: the last backup is named an hour ahead
			b.l.retry.mu.Lock()
			b.l.retry.last = time.Now().Add(time.Hour)
			b.l.retry.mu.Unlock()
		}
	}
	names := backupNames(t, b.dir)
	if len(names) != 5 {
		t.Fatalf("backups %v, want 5", names)
	}
	for _, n := range names {
		if _, ok := newFamily(b.path).parse(n); !ok {
			t.Fatalf("backup %s does not keep the seed's name format", n)
		}
	}
	if !slices.IsSorted(names) {
		t.Fatalf("names do not sort in creation order: %v", names)
	}
	// Make modification times lie: the newest file looks oldest.
	for i, n := range names {
		mt := time.Now().Add(-time.Duration(i) * time.Hour)
		_ = os.Chtimes(filepath.Join(b.dir, n), mt, mt)
	}
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	if !equal(c.got(), wantIDs(0, 5)) {
		t.Fatalf("delivered %v", c.got())
	}
}

func TestRotateEmptyLogIsANoOp(t *testing.T) {
	b := setup(t)
	if err := b.l.Rotate(); err != nil {
		t.Fatal(err)
	}
	if n := backupNames(t, b.dir); len(n) != 0 {
		t.Fatalf("empty log rotated to %v", n)
	}
}

func TestSizeRotation(t *testing.T) {
	b := setup(t, WithMaxSize(1))
	big := strings.Repeat("x", 300<<10)
	for i := range 8 {
		if err := Log(b.l, &order{ID: big + id(i)}, errTest, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(backupNames(t, b.dir)); n < 2 {
		t.Fatalf("%d backups after 2.4 MB with a 1 MB limit", n)
	}
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	if len(c.got()) != 8 {
		t.Fatalf("delivered %d", len(c.got()))
	}
}

// Point 1: MaxBackups and MaxAge never delete items that were not replayed,
// unless lossy retention is enabled; then every dropped item is counted and
// reported.
func TestRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, lossy := range []bool{false, true} {
			b := setup(t, WithMaxBackups(1), WithMaxAge(1), WithLossyRetention(lossy))
			for i := range 4 {
				logN(t, b.l, i*2, 2, 1)
				if err := b.l.Rotate(); err != nil {
					t.Fatal(err)
				}
			}
			if err := LogPermanent(b.l, &order{ID: "p"}, "gone"); err != nil {
				t.Fatal(err)
			}
			b.l.perm.mu.Lock()
			if _, err := b.l.rotateLocked(b.l.perm); err != nil {
				t.Fatal(err)
			}
			b.l.perm.mu.Unlock()
			time.Sleep(48 * time.Hour) // every backup is older than MaxAge
			b.l.maintainLog(b.l.retry)
			b.l.maintainLog(b.l.perm)
			st, err := b.l.Stats()
			if err != nil {
				t.Fatal(err)
			}
			c := &collector{}
			replayAll(t, b.l, c, ReplayOptions{})
			if !lossy {
				if !equal(c.got(), wantIDs(0, 8)) || st.Dropped != 0 || st.Permanent != 1 {
					t.Fatalf("default retention lost items: delivered %v, stats %+v", c.got(), st)
				}
				continue
			}
			if st.Dropped != 9 || len(c.got()) != 0 || st.Permanent != 0 {
				t.Fatalf("lossy retention: delivered %v, stats %+v; want 9 dropped", c.got(), st)
			}
			if !strings.Contains(b.logs.String(), "retention dropped items") {
				t.Fatalf("drops not reported: %s", b.logs)
			}
		}
	})
}

// Point 2: background compression never races a running Replay: with
// rotations, compression and Log going on, every item is delivered exactly
// once and Replay never fails.
func TestCompressionDoesNotRaceReplay(t *testing.T) {
	b := setup(t, WithCompress(true))
	const rounds, per = 30, 20
	c := &collector{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.l.Replay(context.Background(), c.handle, ReplayOptions{}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for r := range rounds {
		logN(t, b.l, r*per, per, 1)
		if err := b.l.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	replayAll(t, b.l, c, ReplayOptions{})
	got := c.got()
	if !equal(sorted(got), wantIDs(0, rounds*per)) {
		t.Fatalf("delivered %d items, want each of %d once", len(got), rounds*per)
	}
}

// Compression keeps the replay position of a partly consumed backup.
func TestCompressionKeepsCheckpoint(t *testing.T) {
	b := setup(t, WithCompress(true))
	logN(t, b.l, 0, 4, 1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{fail: func(id string) error {
		if id == "ord-000002" {
			cancel()
		}
		return nil
	}}
	_ = b.l.Replay(ctx, c.handle, ReplayOptions{})
	b.l.maintainLog(b.l.retry)
	var gz bool
	for _, n := range backupNames(t, b.dir) {
		gz = gz || strings.HasSuffix(n, ".gz")
	}
	if !gz {
		t.Fatalf("not compressed: %v", files(t, b.dir))
	}
	replayAll(t, b.l, c, ReplayOptions{})
	if !equal(c.got(), wantIDs(0, 4)) {
		t.Fatalf("delivered %v", c.got())
	}
}
