package dletter

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/checkpoint"
)

// With Follow, items logged while a handler hangs are delivered without
// waiting for it: the window's other lines go to them, the lines in hand
// across the files never exceed Concurrency, and once the hanging handler
// returns everything was delivered once and every file is removed.
func TestReplayFollowDeliversNewItemsPastAHangingOne(t *testing.T) {
	b := setup(t)
	const n, more = 4, 10
	logN(t, b.l, 1, 1, 1)
	hung, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	defer free() // a failed test must not leave the Replay hanging
	started := make(chan string, more)
	three := make(chan struct{}) // closed once 3 handlers run beside ord-1's
	var g gauge
	var others atomic.Int64
	var mu sync.Mutex
	begun := map[string]bool{}
	peakHand := uint64(0)
	c := &collector{fail: func(s string) error {
		g.enter()
		defer g.leave()
		mu.Lock()
		begun[s] = true
		peakHand = max(peakHand, linesInHand(t, b.dir, begun))
		mu.Unlock()
		if s == id(1) {
			close(hung)
			<-release
			return nil
		}
		if others.Add(1) == 3 {
			close(three)
		}
		started <- s
		<-three // the first three wait until they all run at once
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- b.l.Replay(ctx, c.handle, ReplayOptions{Concurrency: n, Follow: true}) }()
	select {
	case <-hung:
	case <-ctx.Done():
		t.Fatal("ord-1 was not handed out")
	}
	logN(t, b.l, 2, more, 1)
	for range more {
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatalf("%d of the new items started while ord-1 hung, want %d", len(c.got()), more)
		}
	}
	select {
	case err := <-errc:
		t.Fatalf("Replay returned %v while ord-1 was in flight", err)
	default:
	}
	if p := g.peak.Load(); p != n {
		t.Fatalf("at most %d handlers ran at once, want %d", p, n)
	}
	free()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := sorted(c.got()); !equal(got, wantIDs(1, 1+more)) {
		t.Fatalf("delivered %v", got)
	}
	if p := peakHand; p > n {
		t.Fatalf("%d lines in hand at once, more than %d", p, n)
	}
	if cnt, _ := b.l.Count(RetryLog); cnt != 0 {
		t.Fatalf("Count = %d, want 0", cnt)
	}
	for _, f := range files(t, b.dir) {
		if strings.HasPrefix(f, "orders-") {
			t.Fatalf("left behind: %s", f)
		}
	}
}

// linesInHand is a lower bound on the lines a Replay of dir has in hand
// now that the items in begun have started: in each rotated file, from its
// checkpoint to the last line whose item began. The rotated files are not
// written to once they exist, and checkpoints only grow.
func linesInHand(t *testing.T, dir string, begun map[string]bool) uint64 {
	t.Helper()
	states, _ := filepath.Glob(filepath.Join(dir, "orders-*.log-state"))
	var sum uint64
	for _, state := range states {
		data, err := os.ReadFile(strings.TrimSuffix(state, "-state"))
		if err != nil {
			continue // removed meanwhile: all its lines were consumed
		}
		read := uint64(0)
		for i, text := range strings.Split(string(data), "\n") {
			var rec struct{ Payload order }
			if json.Unmarshal([]byte(text), &rec) == nil && begun[rec.Payload.ID] {
				read = uint64(i + 1)
			}
		}
		if v, err := checkpoint.Read(state); err == nil && read > v {
			sum += read - v
		}
	}
	return sum
}
