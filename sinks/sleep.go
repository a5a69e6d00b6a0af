package sinks

import (
	"context"
	"time"
)

// sleep waits for d, or until ctx is done, in which case it returns ctx's
// error. A d of 0 or less returns at once (nil unless ctx is done). It uses
// the time package's timer, so a test in a testing/synctest bubble waits in
// the bubble's fake time.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
