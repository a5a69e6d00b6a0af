// Package sinktest holds test doubles shared by the reference sinks' tests:
// a clock that never sleeps and a DLQ that records what it is given.
package sinktest

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/dletter/dletter/sinks"
)

// Clock is a sinks.Clock whose Sleep returns at once, advancing Now and
// recording the duration asked for.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// NewClock returns a Clock that starts at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep records d and advances the clock by it.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return nil
}

// Sleeps returns the durations Sleep was called with.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// DLQ is a sinks.DLQ that records pushed items.
type DLQ struct {
	mu    sync.Mutex
	items []sinks.DLQItem
}

// Push records item.
func (d *DLQ) Push(_ context.Context, item sinks.DLQItem) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	item.ID = strconv.Itoa(len(d.items) + 1)
	d.items = append(d.items, item)
	return nil
}

// Items returns the pushed items, oldest first, whatever sink and limit.
func (d *DLQ) Items(context.Context, string, int) ([]sinks.DLQItem, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sinks.DLQItem(nil), d.items...), nil
}

// Count returns the number of pushed items.
func (d *DLQ) Count(context.Context, string) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.items), nil
}

// Discard does nothing.
func (d *DLQ) Discard(context.Context, string) error { return nil }

// Replay is not supported.
func (d *DLQ) Replay(context.Context, string) error {
	return sinks.Errorf(sinks.CodeInternal, "sinktest.DLQ.Replay", "not supported")
}
