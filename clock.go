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
