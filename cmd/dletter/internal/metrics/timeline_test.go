package metrics_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
	"github.com/dletter/dletter/sinks"
)

func sum(v []int64) (n int64) {
	for _, x := range v {
		n += x
	}
	return n
}

// nonZero lists the indexes and values of v that are not zero.
func nonZero(v []int64) map[int]int64 {
	m := map[int]int64{}
	for i, x := range v {
		if x != 0 {
			m[i] = x
		}
	}
	return m
}

// TestTimelineBuckets: counts land in the bucket of their minute and hour,
// the current one last; they move towards the start as time passes and
// leave the window after an hour (minutes) or a day (hours); a slot that
// the ring reuses starts empty.
func TestTimelineBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := metrics.NewTimeline()
		// The bubble starts at midnight UTC: minute 0 of hour 0.
		tl.Delivered("orders")
		tl.Delivered("orders")
		time.Sleep(90 * time.Second) // 00:01:30
		tl.DeadLettered("orders")

		h := tl.LastHour("orders")
		if len(h.Delivered) != metrics.HourBars || len(h.DeadLettered) != metrics.HourBars || h.Step != time.Minute {
			t.Fatalf("hour window: %d and %d bars of %v", len(h.Delivered), len(h.DeadLettered), h.Step)
		}
		if want := time.Now().Truncate(time.Minute).Add(-59 * time.Minute); !h.Start.Equal(want) {
			t.Fatalf("hour window starts at %v, want %v", h.Start, want)
		}
		if got := nonZero(h.Delivered); len(got) != 1 || got[58] != 2 {
			t.Fatalf("delivered per minute: %v, want 2 in the minute before the last", got)
		}
		if got := nonZero(h.DeadLettered); len(got) != 1 || got[59] != 1 {
			t.Fatalf("dead letters per minute: %v, want 1 in the last", got)
		}
		if got := nonZero(tl.LastHour("other").Delivered); len(got) != 0 {
			t.Fatalf("a sink that saw nothing: %v", got)
		}

		time.Sleep(59 * time.Minute) // 01:00:30: minute 0 has left the hour
		h = tl.LastHour("orders")
		if sum(h.Delivered) != 0 || nonZero(h.DeadLettered)[0] != 1 {
			t.Fatalf("an hour later: delivered %v, dead letters %v", nonZero(h.Delivered), nonZero(h.DeadLettered))
		}
		d := tl.LastDay("orders")
		if len(d.Delivered) != metrics.DayBars || d.Step != time.Hour {
			t.Fatalf("day window: %d bars of %v", len(d.Delivered), d.Step)
		}
		if got := nonZero(d.Delivered); len(got) != 1 || got[22] != 2 {
			t.Fatalf("delivered per hour: %v, want 2 in the hour before the last", got)
		}

		// 02:00:30 is minute 0 of the ring again: its slot still holds
		// 00:00's 2 deliveries, which must not be added to.
		time.Sleep(60 * time.Minute)
		tl.Delivered("orders")
		if got := nonZero(tl.LastHour("orders").Delivered); len(got) != 1 || got[59] != 1 {
			t.Fatalf("a reused slot: %v, want 1 in the last minute", got)
		}

		time.Sleep(24 * time.Hour)
		d = tl.LastDay("orders")
		if sum(d.Delivered)+sum(d.DeadLettered) != 0 {
			t.Fatalf("a day later: %v %v", d.Delivered, d.DeadLettered)
		}
	})
}

// TestTimelineConcurrent: counts from many goroutines, read meanwhile, all
// arrive (run with -race).
func TestTimelineConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := metrics.NewTimeline()
		const workers, each = 8, 500
		var wg sync.WaitGroup
		for w := range workers {
			sink := fmt.Sprint("sink", w%2)
			wg.Go(func() {
				for range each {
					tl.Delivered(sink)
					tl.DeadLettered(sink)
				}
			})
		}
		wg.Go(func() {
			for range each {
				_ = tl.LastHour("sink0")
				_ = tl.LastDay("sink1")
			}
		})
		wg.Wait()
		for _, sink := range []string{"sink0", "sink1"} {
			h, d := tl.LastHour(sink), tl.LastDay(sink)
			want := int64(workers / 2 * each)
			if sum(h.Delivered) != want || sum(h.DeadLettered) != want || sum(d.Delivered) != want {
				t.Errorf("%s: %d delivered and %d dead letters in the hour, %d delivered in the day; want %d",
					sink, sum(h.Delivered), sum(h.DeadLettered), sum(d.Delivered), want)
			}
		}
	})
}

// TestTimelineBounded: past MaxTimelineSinks names, a new sink's counts
// are not kept, and the sinks already kept go on counting; a nil Timeline
// counts nothing and reports empty windows of the right length.
func TestTimelineBounded(t *testing.T) {
	tl := metrics.NewTimeline()
	for i := range metrics.MaxTimelineSinks {
		tl.DeadLettered(fmt.Sprint("s", i))
	}
	tl.DeadLettered("one too many")
	tl.DeadLettered("s0")
	if n := sum(tl.LastDay("one too many").DeadLettered); n != 0 {
		t.Fatalf("a sink past the bound kept %d", n)
	}
	if n := sum(tl.LastDay("s0").DeadLettered); n != 2 {
		t.Fatalf("a kept sink has %d, want 2", n)
	}
	var none *metrics.Timeline
	none.Delivered("x")
	if w := none.LastHour("x"); len(w.Delivered) != metrics.HourBars || sum(w.Delivered) != 0 {
		t.Fatalf("nil timeline: %+v", w)
	}
}

// TestWindowIndex: a time finds the period that holds it, and a time
// before or after the window none.
func TestWindowIndex(t *testing.T) {
	start := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	w := metrics.Window{Start: start, Step: time.Hour, Delivered: make([]int64, 24), DeadLettered: make([]int64, 24)}
	for _, c := range []struct {
		at   time.Time
		i    int
		want bool
	}{
		{start, 0, true},
		{start.Add(90 * time.Minute), 1, true},
		{start.Add(24*time.Hour - time.Nanosecond), 23, true},
		{start.Add(24 * time.Hour), 0, false},
		{start.Add(-time.Nanosecond), 0, false},
	} {
		i, ok := w.Index(c.at)
		if ok != c.want || (ok && i != c.i) {
			t.Errorf("Index(%v) = %d, %v; want %d, %v", c.at, i, ok, c.i, c.want)
		}
	}
}

// TestObserveFeedsTimeline: the Retrier's events count deliveries and dead
// letters in the Timeline; failed attempts do not.
func TestObserveFeedsTimeline(t *testing.T) {
	synctest.Test(t, observeFeedsTimeline)
}

func observeFeedsTimeline(t *testing.T) {
	m := metrics.New(nil, nil)
	for _, k := range []sinks.EventKind{sinks.EventAttempt, sinks.EventFailure, sinks.EventSuccess, sinks.EventDeadLettered, sinks.EventDeadLettered} {
		m.Observe(sinks.Event{Kind: k, Sink: "orders"})
	}
	h := m.Timeline().LastHour("orders")
	if sum(h.Delivered) != 1 || sum(h.DeadLettered) != 2 {
		t.Fatalf("delivered %v, dead letters %v; want 1 and 2", h.Delivered, h.DeadLettered)
	}
	if !slices.Equal(m.Timeline().LastDay("orders").DeadLettered[metrics.DayBars-1:], []int64{2}) {
		t.Fatal("the day window has not the dead letters in its last hour")
	}
	var none *metrics.Metrics
	if none.Timeline() != nil {
		t.Fatal("a nil Metrics has a Timeline")
	}
}

// TestTimelineStarted: a Timeline says when it began counting.
func TestTimelineStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := time.Now()
		tl := metrics.NewTimeline()
		time.Sleep(time.Hour)
		if !tl.Started().Equal(before) {
			t.Fatalf("started %v, want %v", tl.Started(), before)
		}
		var none *metrics.Timeline
		if !none.Started().IsZero() {
			t.Fatal("a nil Timeline has a start")
		}
	})
}
