package dletter

import (
	"testing"
	"time"
)

func TestUnixClockFollowsWallClock(t *testing.T) {
	var c unixClock
	for range 3 {
		before := time.Now().Unix()
		got := c.Unix()
		after := time.Now().Unix()
		if got < before || got > after {
			t.Fatalf("Unix() = %d, want within [%d, %d]", got, before, after)
		}
	}
	// A stale base is refreshed.
	c.base.Store(&clockBase{unixNano: 0, mono: time.Since(epoch) - 2*time.Second})
	if got, now := c.Unix(), time.Now().Unix(); got < now-1 || got > now {
		t.Fatalf("stale base not refreshed: %d vs %d", got, now)
	}
}
