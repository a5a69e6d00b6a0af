package metrics

import (
	"sync"
	"time"
)

// Window sizes of a Timeline.
const (
	// HourBars is the number of one-minute buckets of LastHour.
	HourBars = 60
	// DayBars is the number of one-hour buckets of LastDay.
	DayBars = 24
	// MaxTimelineSinks bounds the number of sinks a Timeline keeps: counts
	// for further names are not kept. Sink names come from the
	// configuration, so the bound is only a guard.
	MaxTimelineSinks = 1000
)

// Timeline counts each sink's deliveries and dead letters since the daemon
// started, in rings of per-minute buckets (the last hour) and per-hour
// buckets (the last day), aligned on UTC minutes and hours. Its memory is
// bounded: 84 buckets per sink, at most MaxTimelineSinks sinks. It is safe
// for concurrent use; a nil *Timeline counts nothing and reports zeros.
type Timeline struct {
	started time.Time
	mu      sync.Mutex
	sinks   map[string]*sinkRings
}

// sinkRings are one sink's buckets.
type sinkRings struct {
	minutes [HourBars]bucket
	hours   [DayBars]bucket
}

// bucket counts what happened in one period; period is its number since
// the Unix epoch (time / step), so a slot left from an earlier turn of the
// ring is known and read as empty.
type bucket struct {
	period                  int64
	delivered, deadLettered int64
}

// Window is a sink's counts over consecutive periods of Step, oldest
// first; the last period holds now. Start is when the first begins.
type Window struct {
	Start        time.Time
	Step         time.Duration
	Delivered    []int64
	DeadLettered []int64
}

// Index returns the number of the period that holds t, and false when t
// is outside the window.
func (w Window) Index(t time.Time) (int, bool) {
	if t.Before(w.Start) || w.Step <= 0 {
		return 0, false
	}
	i := int(t.Sub(w.Start) / w.Step)
	return i, i < len(w.Delivered)
}

// NewTimeline returns an empty Timeline that counts from now.
func NewTimeline() *Timeline {
	return &Timeline{started: time.Now(), sinks: make(map[string]*sinkRings)}
}

// Started returns when t began counting; the zero time for a nil Timeline.
func (t *Timeline) Started() time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.started
}

// Delivered counts a message that sink delivered now.
func (t *Timeline) Delivered(sink string) { t.add(sink, time.Now(), 1, 0) }

// DeadLettered counts a message of sink parked in the DLQ now.
func (t *Timeline) DeadLettered(sink string) { t.add(sink, time.Now(), 0, 1) }

func (t *Timeline) add(sink string, now time.Time, delivered, dead int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.sinks[sink]
	if r == nil {
		if len(t.sinks) >= MaxTimelineSinks {
			return
		}
		r = new(sinkRings)
		t.sinks[sink] = r
	}
	bump(r.minutes[:], time.Minute, now, delivered, dead)
	bump(r.hours[:], time.Hour, now, delivered, dead)
}

// bump adds to the bucket of ring that holds now, emptying it first when
// it still holds an older period.
func bump(ring []bucket, step time.Duration, now time.Time, delivered, dead int64) {
	p := period(now, step)
	b := &ring[p%int64(len(ring))]
	if b.period != p {
		*b = bucket{period: p}
	}
	b.delivered += delivered
	b.deadLettered += dead
}

func period(t time.Time, step time.Duration) int64 { return t.UnixNano() / int64(step) }

// LastHour returns sink's counts per minute over the last HourBars
// minutes, the current one last.
func (t *Timeline) LastHour(sink string) Window {
	return t.window(sink, time.Minute, HourBars, func(r *sinkRings) []bucket { return r.minutes[:] })
}

// LastDay returns sink's counts per hour over the last DayBars hours, the
// current one last.
func (t *Timeline) LastDay(sink string) Window {
	return t.window(sink, time.Hour, DayBars, func(r *sinkRings) []bucket { return r.hours[:] })
}

// window reads the n periods of step up to now from the ring of sink that
// ringOf picks.
func (t *Timeline) window(sink string, step time.Duration, n int, ringOf func(*sinkRings) []bucket) Window {
	last := period(time.Now(), step)
	w := Window{Start: time.Unix(0, (last-int64(n)+1)*int64(step)).UTC(), Step: step,
		Delivered: make([]int64, n), DeadLettered: make([]int64, n)}
	if t == nil {
		return w
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.sinks[sink]
	if r == nil {
		return w
	}
	ring := ringOf(r)
	for i := range n {
		p := last - int64(n-1-i)
		if b := ring[p%int64(len(ring))]; b.period == p {
			w.Delivered[i], w.DeadLettered[i] = b.delivered, b.deadLettered
		}
	}
	return w
}
