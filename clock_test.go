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

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSecondClockRefreshesWhileUsedAndStops(t *testing.T) {
	c := newSecondClock()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); c.run(stop) }()
	defer func() { close(stop); <-done }()

	now := time.Now().Unix()
	if got := c.Unix(); got < now || got > now+1 {
		t.Fatalf("first Unix() = %d, want about %d", got, now)
	}
	waitFor(t, "the refresh to start", func() bool { return c.sec.Load() != 0 })
	if got := c.Unix(); got < now || got > time.Now().Unix() {
		t.Fatalf("refreshed Unix() = %d, want about %d", got, now)
	}
	waitFor(t, "the refresh to stop when unused", func() bool { return c.sec.Load() == 0 })
}
