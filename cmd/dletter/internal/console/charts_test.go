package console

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// TestChartBars: the DLQ's items are added to the bars that hold their
// time and no other; a chart of a window says what it counts, per what,
// from when, with a tip per bar naming its minute or hour.
func TestChartBars(t *testing.T) {
	start := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	day := metrics.Window{Start: start, Step: time.Hour, Delivered: make([]int64, 24), DeadLettered: make([]int64, 24)}
	day.DeadLettered[23] = 5 // counted by the daemon
	addDLQ(day, []time.Time{start.Add(-time.Second), start, start.Add(90 * time.Minute), start.Add(23 * time.Hour), start.Add(24 * time.Hour)})
	if day.DeadLettered[0] != 1 || day.DeadLettered[1] != 1 || day.DeadLettered[23] != 6 {
		t.Fatalf("dead letters per hour: %v", day.DeadLettered)
	}
	b := bars("orders", day, true, "dead day")
	if b.Title != "orders: dead letters in the last day" || b.Per != "hour" || b.From != "24 h ago" || b.To != "now" ||
		len(b.Tips) != 24 || b.Tips[1] != "11:00 UTC: 1 dead letter" || b.Tips[23] != "09:00 UTC: 6 dead letters" {
		t.Fatalf("day chart: %+v", b)
	}
	hour := metrics.Window{Start: start, Step: time.Minute, Delivered: make([]int64, 60), DeadLettered: make([]int64, 60)}
	hour.Delivered[5] = 2
	b = bars("orders", hour, false, "delivered hour")
	if b.Title != "orders: deliveries in the last hour" || b.Per != "minute" || b.From != "60 min ago" ||
		len(b.Values) != 60 || b.Tips[5] != "10:05 UTC: 2 deliveries" {
		t.Fatalf("hour chart: %+v", b)
	}
}

// TestChartsReuseTheirDLQReadForAMinute: the overview reads the DLQ's dead
// letters from before the daemon started once a minute at most, not on
// every page view; a dead letter that appears meanwhile shows after that
// minute.
func TestChartsReuseTheirDLQReadForAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store := sinks.NewMemoryDLQ()
		push := func(ago time.Duration) {
			t.Helper()
			it := sinks.DLQItem{Sink: "orders", At: time.Now().Add(-ago), Message: sinks.Message{Subject: "s"}}
			if err := store.Push(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		push(2 * time.Hour)
		c := &Console{relay: relay.New(relay.Options{Store: store, Sinks: sinks.NewRegistry()}), timeline: metrics.NewTimeline()}
		count := func() int {
			t.Helper()
			times, all, err := c.before.times(ctx, c)
			if err != nil || !all {
				t.Fatalf("times: all %v, err %v", all, err)
			}
			return len(times["orders"])
		}
		if n := count(); n != 1 {
			t.Fatalf("first read: %d dead letters, want 1", n)
		}
		push(3 * time.Hour)
		time.Sleep(beforeStartTTL - time.Second)
		if n := count(); n != 1 {
			t.Fatalf("within a minute: %d dead letters, want the 1 read before", n)
		}
		time.Sleep(time.Second)
		if n := count(); n != 2 {
			t.Fatalf("after a minute: %d dead letters, want 2", n)
		}
	})
}
