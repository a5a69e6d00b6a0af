package relay

import (
	"context"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// TestDeadLetterTimes: the times of the items parked between two moments,
// by sink, items older or newer left out; a max stops the reading and says
// that items were left, and a max that all items fit in does not.
func TestDeadLetterTimes(t *testing.T) {
	b := setup(t, setupOpts{})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	for _, it := range []sinks.DLQItem{
		{Sink: "a", At: now.Add(-30 * time.Hour)},
		{Sink: "a", At: now.Add(-2 * time.Hour)},
		{Sink: "b", At: now.Add(-10 * time.Minute)},
		{Sink: "b", At: now.Add(-time.Minute)},
	} {
		it.Message = sinks.Message{Subject: "x", Body: "a body longer than what is read"}
		if _, err := b.store.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	since, until := now.Add(-24*time.Hour), now.Add(-time.Minute)
	times, all, err := b.r.DeadLetterTimes(ctx, since, until, 0)
	if err != nil || !all || len(times) != 2 || len(times["a"]) != 1 || !times["a"][0].Equal(now.Add(-2*time.Hour)) ||
		len(times["b"]) != 1 || !times["b"][0].Equal(now.Add(-10*time.Minute)) {
		t.Fatalf("since a day ago: %v, all %v, %v", times, all, err)
	}
	if times, all, err = b.r.DeadLetterTimes(ctx, since, until, 1); err != nil || all || len(times["a"])+len(times["b"]) != 1 {
		t.Fatalf("max 1: %v, all %v, %v", times, all, err)
	}
	if times, all, err = b.r.DeadLetterTimes(ctx, since, until, 2); err != nil || !all || len(times["a"])+len(times["b"]) != 2 {
		t.Fatalf("max 2: %v, all %v, %v", times, all, err)
	}
}
