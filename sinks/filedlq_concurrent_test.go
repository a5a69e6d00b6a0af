package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dletter/dletter"
	"github.com/dletter/dletter/sinks"
)

// TestFileDLQConcurrentWritesWhileCompacting has writers add, update and
// discard their own items, and all update one shared item, while the log
// is compacted over and over; every acknowledged write must be in the
// index, and the index must be what a reopen rebuilds from the log.
func TestFileDLQConcurrentWritesWhileCompacting(t *testing.T) {
	for _, d := range []dletter.Durability{dletter.SurvivesCrash, dletter.SurvivesPowerLoss} {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			f, err := sinks.OpenFileDLQ(dir, sinks.WithMaxItems(-1), sinks.WithDurability(d))
			if err != nil {
				t.Fatal(err)
			}
			sinks.SetCompactionThreshold(f, 8<<10)
			shared, err := f.Add(ctx, fileItem("shared", 0))
			if err != nil {
				t.Fatal(err)
			}
			const writers, each = 6, 60
			want := make([]map[string]string, writers) // ID -> LastError, of the items each writer keeps
			var wg sync.WaitGroup
			for w := range writers {
				want[w] = map[string]string{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					sink := fmt.Sprintf("w%d", w)
					for i := range each {
						id, err := f.Add(ctx, fileItem(sink, i))
						if err != nil {
							t.Error(err)
							return
						}
						want[w][id] = fileItem(sink, i).LastError
						it, err := f.Get(ctx, id)
						if err != nil {
							t.Error(err)
							return
						}
						it.LastError = fmt.Sprintf("updated by %d", w)
						if err := f.Update(ctx, it); err != nil {
							t.Error(err)
							return
						}
						want[w][id] = it.LastError
						if i%3 != 0 {
							if err := f.Discard(ctx, id); err != nil {
								t.Error(err)
								return
							}
							delete(want[w], id)
						}
						s, err := f.Get(ctx, shared)
						if err != nil {
							t.Error(err)
							return
						}
						s.Attempts = w*1000 + i
						if err := f.Update(ctx, s); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			stop := make(chan struct{})
			compactions := make(chan int)
			go func() {
				n := 0
				defer func() { compactions <- n }()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := f.Compact(ctx); err != nil {
						t.Error(err)
						return
					}
					n++
				}
			}()
			wg.Wait()
			close(stop)
			if n := <-compactions; n == 0 {
				t.Fatal("no compaction ran")
			}
			if t.Failed() {
				return
			}
			check := func(what string, st *sinks.FileDLQ) string {
				t.Helper()
				for w := range writers {
					items, err := st.Items(ctx, fmt.Sprintf("w%d", w), 0)
					if err != nil {
						t.Fatal(err)
					}
					if len(items) != len(want[w]) {
						t.Fatalf("%s: writer %d has %d items, want %d", what, w, len(items), len(want[w]))
					}
					for _, it := range items {
						if le, ok := want[w][it.ID]; !ok || le != it.LastError {
							t.Fatalf("%s: item %s of writer %d: %q, want %q (kept %v)", what, it.ID, w, it.LastError, le, ok)
						}
					}
				}
				all, err := st.Items(ctx, "", 0)
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprint(all)
			}
			before := check("before reopen", f)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			g := openFile(t, dir, sinks.WithMaxItems(-1), sinks.WithDurability(d))
			if after := check("after reopen", g); after != before {
				t.Fatalf("reopen rebuilt another index:\n%s\nwant\n%s", after, before)
			}
			if st, _ := g.Stats(ctx); st.Quarantined != 0 {
				t.Fatalf("reopen set %d records aside", st.Quarantined)
			}
		})
	}
}

// TestFileDLQConcurrentOverflow pushes from many goroutines into a full
// DLQ: the bound holds, and every push is either stored, or rejected, or
// drops exactly one item.
func TestFileDLQConcurrentOverflow(t *testing.T) {
	const max, writers, each = 10, 8, 40
	for _, policy := range []sinks.OverflowPolicy{sinks.OverflowReject, sinks.OverflowDropOldest} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			opts := []sinks.StoreOption{sinks.WithMaxItems(max), sinks.WithOverflow(policy)}
			f, err := sinks.OpenFileDLQ(dir, opts...)
			if err != nil {
				t.Fatal(err)
			}
			var rejected atomic.Int64
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						err := f.Push(ctx, fileItem("a", w*each+i))
						if errors.Is(err, sinks.ErrDLQOverflow) {
							rejected.Add(1)
						} else if err != nil {
							t.Error(err)
							return
						}
						if n, _ := f.Count(ctx, ""); n > max {
							t.Errorf("%d items in a DLQ of at most %d", n, max)
							return
						}
					}
				}()
			}
			wg.Wait()
			st, _ := f.Stats(ctx)
			if st.Items != max || st.Dropped+rejected.Load() != writers*each-max {
				t.Fatalf("stats %+v, %d rejected", st, rejected.Load())
			}
			if policy == sinks.OverflowDropOldest && rejected.Load() != 0 {
				t.Fatalf("%d pushes rejected by OverflowDropOldest", rejected.Load())
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			g := openFile(t, dir, opts...)
			if st2, _ := g.Stats(ctx); st2.Items != st.Items || st2.Dropped != st.Dropped {
				t.Fatalf("after reopen %+v, before %+v", st2, st)
			}
		})
	}
}

// TestFileDLQCloseWaitsForWrites closes while writers push: every push
// acknowledged before or during Close is there after a reopen.
func TestFileDLQCloseWaitsForWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := sinks.OpenFileDLQ(dir, sinks.WithMaxItems(-1), sinks.WithDurability(dletter.SurvivesPowerLoss))
	if err != nil {
		t.Fatal(err)
	}
	var acked sync.Map
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id, err := f.Add(ctx, fileItem("a", w*100000+i))
				if err != nil {
					if !errors.Is(err, sinks.ErrClosed) {
						t.Error(err)
					}
					return
				}
				acked.Store(id, true)
				if i == 20 {
					once.Do(func() { close(started) })
				}
			}
		}()
	}
	<-started
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	g := openFile(t, dir, sinks.WithMaxItems(-1))
	n := 0
	acked.Range(func(id, _ any) bool {
		n++
		if _, err := g.Get(ctx, id.(string)); err != nil {
			t.Errorf("acknowledged item %s lost: %v", id, err)
		}
		return true
	})
	if c, _ := g.Count(ctx, ""); c != n {
		t.Fatalf("%d items after reopen, %d acknowledged", c, n)
	}
	if torn, err := os.ReadFile(filepath.Join(dir, "dlq.log.torn")); err == nil && strings.TrimSpace(string(torn)) != "" {
		t.Fatalf("a torn record after Close: %q", torn)
	}
}

// TestFileDLQCompactionWaitsForWritesInFlight starts a compaction while a
// write is in the log but not yet in the index: the compaction must wait
// for it before taking its snapshot, or the record would be in neither the
// snapshot nor the tail it copies.
func TestFileDLQCompactionWaitsForWritesInFlight(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openFile(t, dir, sinks.WithMaxItems(-1))
	for i := range 20 {
		id, _ := f.Add(ctx, fileItem("a", i))
		if i%2 == 0 {
			_ = f.Discard(ctx, id)
		}
	}
	compacted := make(chan error, 1)
	sinks.SetAfterAppend(f, func() {
		sinks.SetAfterAppend(f, nil) // only the first write waits here
		go func() { compacted <- f.Compact(ctx) }()
		deadline := time.Now().Add(10 * time.Second)
		for !sinks.Paused(f) {
			if time.Now().After(deadline) {
				t.Error("the compaction never waited for the write in flight")
				return
			}
			runtime.Gosched()
		}
	})
	id, err := f.Add(ctx, fileItem("in-flight", 99))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-compacted; err != nil {
		t.Fatal(err)
	}
	check := func(what string, st *sinks.FileDLQ) {
		t.Helper()
		it, err := st.Get(ctx, id)
		if err != nil || it.Message.Subject != "item 99" {
			t.Fatalf("%s: item written during the compaction: %+v, %v", what, it, err)
		}
		if n, _ := st.Count(ctx, ""); n != 11 {
			t.Fatalf("%s: %d items, want 11", what, n)
		}
	}
	check("after compaction", f)
	_ = f.Close()
	check("after reopen", openFile(t, dir, sinks.WithMaxItems(-1)))
}
