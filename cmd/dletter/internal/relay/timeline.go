package relay

import (
	"context"
	"time"

	"github.com/dletter/dletter/sinks"
)

// DeadLetterTimes returns, by sink, when the DLQ's items dead-lettered
// from since until before until were parked (DLQItem.At), newest first;
// the dead letters still in the DLQ, such as those from before this daemon
// started. It reads at most max items (0: all); all is false when it
// stopped there.
func (r *Relay) DeadLetterTimes(ctx context.Context, since, until time.Time, max int) (times map[string][]time.Time, all bool, err error) {
	times = make(map[string][]time.Time)
	all, err = r.eachItem(ctx, sinks.Filter{Since: since, Until: until}, max, func(it sinks.ItemPreview) {
		times[it.Sink] = append(times[it.Sink], it.At)
	})
	return times, all, err
}
