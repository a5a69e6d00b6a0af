package dletter

import (
	"sync/atomic"
	"time"
)

// epoch is a monotonic reference point for unixClock.
var epoch = time.Now()

// unixClock returns the current unix time in seconds for Log's timestamps
// at about half the cost of time.Now: it reads only the monotonic clock and
// adds it to a wall-clock base taken with time.Now at most once a second, so
// a step of the wall clock shows within a second.
type unixClock struct {
	base atomic.Pointer[clockBase]
}

type clockBase struct {
	unixNano int64         // wall clock at mono
	mono     time.Duration // time since epoch when unixNano was read
}

func (c *unixClock) Unix() int64 {
	mono := time.Since(epoch)
	b := c.base.Load()
	if b == nil || mono-b.mono >= time.Second || mono < b.mono {
		now := time.Now()
		b = &clockBase{unixNano: now.UnixNano(), mono: now.Sub(epoch)}
		c.base.Store(b)
		return now.Unix()
	}
	return (b.unixNano + int64(mono-b.mono)) / int64(time.Second)
}

// clockTick is how often secondClock refreshes while Log is in use.
const clockTick = 50 * time.Millisecond

// secondClock serves Log's timestamps from a value that a background
// goroutine refreshes every clockTick while Log is in use, so that Log reads
// no clock at all (a clock read right after a system call is a noticeable
// part of Log's cost). The value lags the wall clock by at most about one
// tick. When a tick passes without a Log, the refresh stops; the next Log
// reads the clock itself and starts it again.
type secondClock struct {
	sec      atomic.Int64 // unix seconds; 0 while the refresh is stopped
	used     atomic.Bool  // a Log read sec since the last tick
	wake     chan struct{}
	fallback unixClock
}

func newSecondClock() *secondClock {
	return &secondClock{wake: make(chan struct{}, 1)}
}

// Unix returns the current unix time in seconds.
func (c *secondClock) Unix() int64 {
	if s := c.sec.Load(); s != 0 {
		if !c.used.Load() {
			c.used.Store(true)
		}
		return s
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return c.fallback.Unix()
}

// run refreshes the clock while it is in use, until stop is closed.
func (c *secondClock) run(stop <-chan struct{}) {
	t := time.NewTicker(clockTick)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-c.wake:
			c.used.Store(true)
			c.sec.Store(c.fallback.Unix())
			t.Reset(clockTick)
		case <-t.C:
			if c.used.Swap(false) {
				c.sec.Store(c.fallback.Unix())
				continue
			}
			c.sec.Store(0)
			t.Stop()
		}
	}
}
