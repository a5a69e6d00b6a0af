package dletter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/checkpoint"
)

// gauge counts the handler calls in flight and keeps the highest count.
type gauge struct {
	now, peak atomic.Int64
}

func (g *gauge) enter() {
	n := g.now.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

// With Concurrency > 1 every outcome keeps its rule: due items are each
// delivered once, failed ones re-logged with attempt+1 and their id, items
// at MaxAttempts moved to the permanent log, bad lines quarantined, and the
// consumed file removed.
func TestReplayConcurrentKeepsOutcomes(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 200, 1)
	logN(t, b.l, 200, 10, 9) // past MaxAttempts
	logN(t, b.l, 210, 90, 1)
	f, err := os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("garbage\n\n" + `{"ts":1}` + "\nnot json\n")
	_ = f.Close()
	b.reopen(t)
	logN(t, b.l, 300, 50, 1)
	idsBefore := map[string]string{} // payload id -> item id
	for it, err := range b.l.Items(RetryLog, OldestFirst) {
		if err != nil {
			t.Fatal(err)
		}
		var o order
		_ = json.Unmarshal(it.Payload, &o)
		idsBefore[o.ID] = it.ID
	}

	const n = 8
	var g gauge
	fails := func(i int) bool { return i%7 == 0 }
	c := &collector{fail: func(s string) error {
		g.enter()
		defer g.leave()
		var i int
		_, _ = fmt.Sscanf(s, "ord-%d", &i)
		if fails(i) {
			return fmt.Errorf("%s is down", s)
		}
		return nil
	}}
	replayAll(t, b.l, c, ReplayOptions{MaxAttempts: 5, Concurrency: n})

	var want, failed []string
	for i := range 350 {
		switch {
		case i >= 200 && i < 210:
		case fails(i):
			failed = append(failed, id(i))
		default:
			want = append(want, id(i))
		}
	}
	if got := sorted(c.got()); !equal(got, want) {
		t.Fatalf("delivered %d items, want %d, each once", len(got), len(want))
	}
	if p := g.peak.Load(); p > n {
		t.Fatalf("%d handlers ran at once, more than %d", p, n)
	}
	var relogged []string
	for it, err := range b.l.Items(RetryLog, OldestFirst) {
		if err != nil {
			t.Fatal(err)
		}
		var o order
		_ = json.Unmarshal(it.Payload, &o)
		if it.Attempt != 2 || it.ID != idsBefore[o.ID] || it.Reason != o.ID+" is down" {
			t.Fatalf("re-logged %+v, want attempt 2 and id %s", it, idsBefore[o.ID])
		}
		relogged = append(relogged, o.ID)
	}
	if !equal(sorted(relogged), failed) {
		t.Fatalf("re-logged %v, want %v", relogged, failed)
	}
	if n, _ := b.l.Count(PermanentLog); n != 10 {
		t.Fatalf("%d permanent items, want 10", n)
	}
	if n, _ := b.l.Count(RetryLog); n != int64(len(failed)) {
		t.Fatalf("Count = %d, want %d", n, len(failed))
	}
	if q := lines(t, filepath.Join(b.dir, "quarantine-orders.log")); len(q) != 3 {
		t.Fatalf("quarantine holds %q", q)
	}
	for _, f := range files(t, b.dir) {
		if strings.HasSuffix(f, "-state") || strings.Contains(f, "T") && !strings.HasSuffix(f, ".lock") {
			t.Fatalf("left behind: %s", f)
		}
	}
}

// At most Concurrency handlers run at once, and as many do when there is
// work for them; a handler for line k starts only once every line
// Concurrency or more before it is consumed.
func TestReplayConcurrencyLimit(t *testing.T) {
	for _, n := range []int{0, 1, 4, 16} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := setup(t)
			const items = 100
			logN(t, b.l, 0, items, 1)
			width := max(n, 1)
			var g gauge
			var returned [items]atomic.Bool
			full := make(chan struct{})
			var fullOnce sync.Once
			c := &collector{fail: func(s string) error {
				var k int
				_, _ = fmt.Sscanf(s, "ord-%d", &k)
				g.enter()
				defer func() { g.leave(); returned[k].Store(true) }()
				for j := 0; j <= k-width; j++ {
					if !returned[j].Load() {
						t.Errorf("%s started while ord-%d, %d lines before it, was in flight", s, j, k-j)
					}
				}
				if g.now.Load() == int64(width) {
					fullOnce.Do(func() { close(full) })
				}
				if k < width { // the first ones wait until all of them run
					select {
					case <-full:
					case <-time.After(10 * time.Second):
						t.Errorf("%d handlers never ran at once", width)
					}
				}
				return nil
			}}
			replayAll(t, b.l, c, ReplayOptions{Concurrency: n})
			if p := g.peak.Load(); p != int64(width) {
				t.Fatalf("at most %d handlers ran at once, want %d", p, width)
			}
			if got := sorted(c.got()); !equal(got, wantIDs(0, items)) {
				t.Fatalf("delivered %d items", len(got))
			}
			if n <= 1 && !equal(c.got(), wantIDs(0, items)) {
				t.Fatal("serial Replay delivered out of order")
			}
		})
	}
}

// The handler's context is cancelled when Replay's context is cancelled or
// the Logger is closed; Replay returns only after every handler returned,
// and nothing that was not consumed is lost.
func TestReplayContextCancelsHandlers(t *testing.T) {
	for _, n := range []int{1, 4} {
		for _, stop := range []string{"cancel", "close"} {
			t.Run(fmt.Sprintf("%d-%s", n, stop), func(t *testing.T) {
				b := setup(t)
				const items = 20
				logN(t, b.l, 0, items, 1)
				var started, returned atomic.Int64
				all := make(chan struct{})
				causes := make(chan error, items)
				handler := func(ctx context.Context, p []byte) error {
					defer returned.Add(1)
					if started.Add(1) == int64(n) {
						close(all)
					}
					<-ctx.Done()
					causes <- context.Cause(ctx)
					return ctx.Err()
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				errc := make(chan error, 1)
				go func() { errc <- b.l.ReplayContext(ctx, handler, ReplayOptions{Concurrency: n}) }()
				select {
				case <-all:
				case <-time.After(10 * time.Second):
					t.Fatalf("%d handlers did not start", n)
				}
				want := error(ErrClosed)
				if stop == "cancel" {
					cancel()
					want = context.Canceled
				} else if err := b.l.Close(); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; !errors.Is(err, want) {
					t.Fatalf("Replay = %v, want %v", err, want)
				}
				if s, r := started.Load(), returned.Load(); s != int64(n) || r != s {
					t.Fatalf("%d handlers started, %d returned before Replay did; want %d", s, r, n)
				}
				for range n {
					if c := <-causes; !errors.Is(c, want) {
						t.Fatalf("handler context cause %v, want %v", c, want)
					}
				}
				if stop == "close" {
					b.l = b.open(t)
				}
				if got, _ := b.l.Count(RetryLog); got != items {
					t.Fatalf("Count = %d after the stop, want %d", got, items)
				}
				c := &collector{}
				replayAll(t, b.l, c, ReplayOptions{Concurrency: n})
				if got := sorted(c.got()); !equal(got, wantIDs(0, items)) {
					t.Fatalf("then delivered %v", got)
				}
			})
		}
	}
}

// statePath returns the path of the only "-state" file in dir.
func statePath(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*-state"))
	if err != nil || len(m) != 1 {
		t.Fatalf("state files %v, %v", m, err)
	}
	return m[0]
}

// While one item's handler has not returned, the checkpoint stays on it,
// whatever the items after it did, and no line Concurrency or more after it
// is started.
func TestReplayCheckpointStaysOnUnfinishedItem(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 10, 1)
	const n = 4
	release := make(chan struct{})
	var after sync.WaitGroup // ord-3..5, the lines after ord-2 in its window
	after.Add(3)
	c := &collector{fail: func(s string) error {
		switch s {
		case id(2):
			<-release
		case id(3), id(4), id(5):
			after.Done()
		case id(6):
			select {
			case <-release:
			default:
				t.Errorf("%s started while %s was in flight", s, id(2))
			}
		}
		return nil
	}}
	errc := make(chan error, 1)
	go func() { errc <- b.l.Replay(context.Background(), c.handle, ReplayOptions{Concurrency: n}) }()
	after.Wait()
	state := statePath(t, b.dir)
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := checkpoint.Read(state)
		if err != nil {
			t.Fatal(err)
		}
		if v > 2 {
			t.Fatalf("checkpoint %d passed the unfinished line 2", v)
		}
		if v == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint stuck at %d, want 2", v)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := sorted(c.got()); !equal(got, wantIDs(0, 10)) {
		t.Fatalf("delivered %v", got)
	}
}

// The window's checkpoint is the oldest line not finished, whatever order
// the lines finish in, and a line is admitted only within size lines of it.
func TestWindowCheckpointIsOldestUnfinished(t *testing.T) {
	cp, err := checkpoint.Open(filepath.Join(t.TempDir(), "x.log-state"))
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	rnd := rand.New(rand.NewPCG(7, 9))
	var items atomic.Int64
	for _, size := range []int{2, 5, 16} {
		var w window
		w.init(size, &items)
		cp.Store(3)
		w.start(cp, 3)
		closed := make(chan struct{})
		close(closed)
		const lines = 500
		finished := make([]bool, lines)
		inHand := []uint64{}
		next := uint64(3)
		low := uint64(3) // the oldest line not finished
		for next < lines || len(inHand) > 0 {
			// Admit as many lines as the window allows, then finish one
			// of those in hand at random.
			for next < lines && w.admit(next, closed) {
				inHand = append(inHand, next)
				next++
			}
			if next < lines && next != low+uint64(size) {
				t.Fatalf("size %d: line %d refused with the oldest unfinished line %d", size, next, low)
			}
			k := rnd.IntN(len(inHand))
			finished[inHand[k]] = true
			w.finish(inHand[k], true)
			inHand = append(inHand[:k], inHand[k+1:]...)
			for low < lines && finished[low] {
				low++
			}
			if cp.Value() != low || w.consumed() != low {
				t.Fatalf("size %d: checkpoint %d, want the oldest unfinished line %d", size, cp.Value(), low)
			}
		}
	}
	if items.Load() != -3*(500-3) {
		t.Fatalf("item count moved by %d", items.Load())
	}
}

// The payload handed to a concurrent handler stays intact for its whole
// call while Replay reads on (with the race detector, any reuse of its
// buffer is also reported).
func TestReplayConcurrentPayloadStaysValid(t *testing.T) {
	b := setup(t)
	const items, n = 60, 6
	for i := range items {
		// Lines of 10-40 KiB, so the line reader refills its buffer
		// while earlier payloads are still in use.
		o := &order{ID: id(i) + strings.Repeat(string(rune('a'+i%26)), 10<<10+i*500)}
		if err := Log(b.l, o, errTest, 1); err != nil {
			t.Fatal(err)
		}
	}
	var started [items]chan struct{}
	for i := range started {
		started[i] = make(chan struct{})
	}
	var delivered atomic.Int64
	handler := func(ctx context.Context, p []byte) error {
		keep := bytes.Clone(p)
		var o order
		if err := json.Unmarshal(p, &o); err != nil {
			return err
		}
		var k int
		_, _ = fmt.Sscanf(o.ID, "ord-%d", &k)
		close(started[k])
		if k+n-1 < items { // wait until the last line of the window is read
			select {
			case <-started[k+n-1]:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !bytes.Equal(p, keep) {
			t.Errorf("payload of %s changed during the call", id(k))
		}
		delivered.Add(1)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.l.ReplayContext(ctx, handler, ReplayOptions{Concurrency: n}); err != nil {
		t.Fatal(err)
	}
	if delivered.Load() != items {
		t.Fatalf("%d delivered", delivered.Load())
	}
}

// When a re-log fails with N > 1, Replay cancels the handlers in flight,
// waits for them, returns the error, and the line stays.
func TestReplayConcurrentRelogFailureKeepsLine(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 30, 1)
	var inFlight gauge
	c := &collector{fail: func(s string) error {
		inFlight.enter()
		defer inFlight.leave()
		if s == id(5) {
			_ = b.l.retry.app.Close() // the re-log of this failure cannot be written
			return errors.New("boom")
		}
		return nil
	}}
	err := b.l.Replay(context.Background(), c.handle, ReplayOptions{Concurrency: 4})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay = %v, want the re-log's ErrClosed", err)
	}
	if inFlight.now.Load() != 0 {
		t.Fatal("Replay returned with handlers in flight")
	}
	b.reopen(t)
	c2 := &collector{}
	replayAll(t, b.l, c2, ReplayOptions{})
	got := map[string]bool{}
	for _, s := range append(c.got(), c2.got()...) {
		got[s] = true
	}
	for i := range 30 {
		if !got[id(i)] {
			t.Fatalf("%s lost", id(i))
		}
	}
	if dups := len(c.got()) + len(c2.got()) - 30; dups > 4 {
		t.Fatalf("%d items delivered twice, more than the window of 4", dups)
	}
}

func TestReplayRejectsNegativeConcurrency(t *testing.T) {
	b := setup(t)
	err := b.l.Replay(context.Background(), func([]byte) error { return nil }, ReplayOptions{Concurrency: -2})
	if err == nil || !strings.Contains(err.Error(), "Concurrency") || !strings.Contains(err.Error(), "-2") {
		t.Fatalf("Replay with Concurrency -2 = %v", err)
	}
	if err := b.l.ReplayContext(context.Background(), nil, ReplayOptions{}); err == nil {
		t.Fatal("ReplayContext accepted a nil handler")
	}
}
