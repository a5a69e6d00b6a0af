package console

import (
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
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
