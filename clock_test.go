package dletter

import (
	"testing"
	"testing/synctest"
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

// While Log reads it, secondClock serves the time refreshed every tick, at
// most a tick behind; a tick without a read stops the refresh, and the next
// read takes the time from the clock itself.
func TestSecondClockRefreshesWhileUsedAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newSecondClock()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); c.run(stop) }()
		defer func() { close(stop); <-done }()

		if got, now := c.Unix(), time.Now().Unix(); got != now {
			t.Fatalf("first Unix() = %d, want %d", got, now)
		}
		synctest.Wait()
		if c.sec.Load() == 0 {
			t.Fatal("the first read did not start the refresh")
		}
		// Reads twice a tick, between the ticks: the second changes while
		// in use.
		time.Sleep(clockTick / 4)
		for i := range 80 {
			time.Sleep(clockTick / 2)
			got := c.Unix()
			if now := time.Now(); got < now.Add(-clockTick).Unix() || got > now.Unix() {
				t.Fatalf("tick %d: Unix() = %d, want within a tick of %v", i, got, now)
			}
			if c.sec.Load() == 0 {
				t.Fatalf("tick %d: the refresh stopped while in use", i)
			}
		}
		time.Sleep(2 * clockTick)
		synctest.Wait()
		if s := c.sec.Load(); s != 0 {
			t.Fatalf("the refresh goes on unused: sec = %d", s)
		}
		time.Sleep(time.Hour)
		if got, now := c.Unix(), time.Now().Unix(); got != now {
			t.Fatalf("Unix() after an hour unused = %d, want %d", got, now)
		}
	})
}
