package dletter

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// waitOrder is an item that carries the wait its sender chose.
type waitOrder struct {
	ID   string `json:"id"`
	Wait string `json:"wait"`
}

// synctestLogger opens a Logger on a fresh directory inside a synctest
// bubble, so that its clock and Replay's timer are the bubble's.
func synctestLogger(t *testing.T) *Logger {
	t.Helper()
	l, err := New(filepath.Join(t.TempDir(), "orders.log"), WithCompress(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// ReplayOptions.Backoff replaces InitialWait, MaxWait and the jitter: an
// item is delivered exactly Backoff(attempt, loggedAt, payload) after the time on its
// line, due ones first, whatever InitialWait says; an item at MaxAttempts is
// not passed to Backoff.
func TestReplayBackoffReadsTheWaitFromThePayload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := synctestLogger(t)
		logged := time.Now()
		items := []struct {
			id      string
			wait    time.Duration
			attempt int
		}{
			{"a", 3 * time.Second, 2},
			{"b", time.Second, 4},
			{"c", -time.Minute, 1}, // due at once
			{"d", 2 * time.Second, 7},
			{"e", time.Hour, 9}, // at MaxAttempts: moved, Backoff not asked
		}
		for _, it := range items {
			o := waitOrder{ID: it.id, Wait: it.wait.String()}
			if err := Log(l, o, errTest, it.attempt); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		asked := map[string]int{}
		var order []string
		at := map[string]time.Duration{}
		backoff := func(attempt int, loggedAt time.Time, payload []byte) time.Duration {
			if want := logged.Truncate(time.Second); !loggedAt.Equal(want) {
				t.Errorf("Backoff got the line's time %v, want %v", loggedAt, want)
			}
			var o waitOrder
			if err := json.Unmarshal(payload, &o); err != nil {
				t.Errorf("Backoff got %q: %v", payload, err)
			}
			mu.Lock()
			asked[o.ID] = attempt
			mu.Unlock()
			d, _ := time.ParseDuration(o.Wait)
			return d
		}
		handler := func(ctx context.Context, p []byte) error {
			var o waitOrder
			_ = json.Unmarshal(p, &o)
			mu.Lock()
			order = append(order, o.ID)
			at[o.ID] = time.Since(logged)
			mu.Unlock()
			return nil
		}
		opts := ReplayOptions{Backoff: backoff, InitialWait: time.Hour, MaxAttempts: 9, Concurrency: 2}
		if err := l.ReplayContext(context.Background(), handler, opts); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(order) != "[c b d a]" {
			t.Fatalf("delivered %v, want [c b d a]", order)
		}
		want := map[string]time.Duration{"a": 3 * time.Second, "b": time.Second, "c": 0, "d": 2 * time.Second}
		for id, d := range want {
			if at[id] != d {
				t.Errorf("%s delivered after %v, want %v", id, at[id], d)
			}
		}
		if fmt.Sprint(asked) != "map[a:2 b:4 c:1 d:7]" {
			t.Fatalf("Backoff asked for %v", asked)
		}
		if n, _ := l.Count(PermanentLog); n != 1 {
			t.Fatalf("%d permanent items, want e", n)
		}
	})
}

// In the deferred phase too, up to Concurrency handlers run at once: eight
// items due at about the same time, each taking 10 s, are done in two rounds
// (one at a time they would take 80 s).
func TestReplayConcurrentDeferredPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := synctestLogger(t)
		logN(t, l, 0, 4, 1)
		time.Sleep(time.Hour) // the first four are due by now
		logN(t, l, 4, 8, 1)
		start := time.Now()
		var g gauge
		var mu sync.Mutex
		at := map[string]time.Duration{}
		c := &collector{fail: func(s string) error {
			g.enter()
			defer g.leave()
			mu.Lock()
			at[s] = time.Since(start)
			mu.Unlock()
			time.Sleep(10 * time.Second)
			return nil
		}}
		opts := ReplayOptions{InitialWait: 20 * time.Second, MaxWait: time.Hour, Concurrency: 4}
		if err := l.Replay(context.Background(), c.handle, opts); err != nil {
			t.Fatal(err)
		}
		if got := sorted(c.got()); !equal(got, wantIDs(0, 12)) {
			t.Fatalf("delivered %v", got)
		}
		for i := range 12 {
			d := at[id(i)]
			// Due 20-22 s after they were logged, the first four at once,
			// the others when a handler of the first round returns.
			due := i >= 4 && d >= 20*time.Second && d < 22*time.Second+10*time.Second
			if i < 4 && d != 0 || i >= 4 && !due {
				t.Errorf("%s started after %v", id(i), d)
			}
		}
		if p := g.peak.Load(); p != 4 {
			t.Fatalf("at most %d handlers ran at once, want 4", p)
		}
		if el := time.Since(start); el > 22*time.Second+2*10*time.Second {
			t.Fatalf("Replay took %v: the deferred items did not run four at a time", el)
		}
	})
}
