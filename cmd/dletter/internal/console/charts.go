package console

import (
	"context"
	"fmt"
	"html/template"
	"sync"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/console/chart"
	"github.com/dletter/dletter/cmd/dletter/internal/display"
	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
)

// maxChartItems bounds how many DLQ items of the last day the overview
// reads for its charts.
const maxChartItems = 100_000

// sinkCharts are the overview's charts of one sink.
type sinkCharts struct {
	Sink                        string
	DeadHour, DeadDay           template.HTML
	DeliveredHour, DeliveredDay template.HTML
}

// charts draws, for each sink, its dead letters and deliveries per minute
// over the last hour and per hour over the last day: this daemon's counts
// since it started (metrics.Timeline), and before that, the dead letters
// still in the DLQ by their time (so the DLQ is read only while the
// daemon has run for less than a day, and only for the time before its
// start). all is false when the DLQ held more items of that time than
// maxChartItems.
func (c *Console) charts(ctx context.Context, sinkNames []string) (out []sinkCharts, all bool, err error) {
	times, all, err := c.before.times(ctx, c)
	if err != nil {
		return nil, false, err
	}
	for _, name := range sinkNames {
		hour, day := c.timeline.LastHour(name), c.timeline.LastDay(name)
		addDLQ(hour, times[name])
		addDLQ(day, times[name])
		sc := sinkCharts{Sink: name}
		for _, ch := range []struct {
			dst   *template.HTML
			w     metrics.Window
			dead  bool
			class string
		}{
			{&sc.DeadHour, hour, true, "dead hour"}, {&sc.DeadDay, day, true, "dead day"},
			{&sc.DeliveredHour, hour, false, "delivered hour"}, {&sc.DeliveredDay, day, false, "delivered day"},
		} {
			if *ch.dst, err = chart.Render(bars(name, ch.w, ch.dead, ch.class)); err != nil {
				return nil, false, err
			}
		}
		out = append(out, sc)
	}
	return out, all, nil
}

// beforeStartTTL is how long the overview reuses its read of the DLQ's
// dead letters from before the daemon started. Those only ever leave (a
// redelivery, a discard), so a minute-old count is at most a minute late;
// rereading up to maxChartItems items on every page view is what it saves.
const beforeStartTTL = time.Minute

// beforeStart remembers the last read of the dead letters parked in the
// last day before the daemon's Timeline started.
type beforeStart struct {
	mu           sync.Mutex
	read         time.Time // when; zero before the first read
	since, until time.Time
	byS          map[string][]time.Time
	all          bool
}

// times returns the DLQ's dead letters of the last day from before c's
// Timeline started (all of the last day when it counts nothing), reading
// the DLQ again only when the window moved or the last read is older than
// beforeStartTTL. Concurrent page views share one read.
func (b *beforeStart) times(ctx context.Context, c *Console) (map[string][]time.Time, bool, error) {
	now := time.Now()
	since, until := c.timeline.LastDay("").Start, c.timeline.Started()
	if until.IsZero() { // no counts: the DLQ is all there is
		until = now
	}
	if !until.After(since) {
		return nil, true, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.read.IsZero() && now.Sub(b.read) < beforeStartTTL && b.since.Equal(since) && (b.until.Equal(until) || c.timeline.Started().IsZero()) {
		return b.byS, b.all, nil
	}
	times, all, err := c.relay.DeadLetterTimes(ctx, since, until, maxChartItems)
	if err != nil {
		return nil, false, err
	}
	b.read, b.since, b.until, b.byS, b.all = now, since, until, times, all
	return times, all, nil
}

// addDLQ adds to w's dead letters the DLQ's items parked at times, each
// in the bar that holds it; times before the Timeline started, so that
// none is counted twice.
func addDLQ(w metrics.Window, times []time.Time) {
	for _, t := range times {
		if i, ok := w.Index(t); ok {
			w.DeadLettered[i]++
		}
	}
}

// bars describes one chart of sink: its dead letters or its deliveries
// over window w.
func bars(sink string, w metrics.Window, dead bool, class string) chart.Bars {
	values, one, many, what := w.Delivered, "delivery", "deliveries", "deliveries"
	if dead {
		values, one, many, what = w.DeadLettered, "dead letter", "dead letters", "dead letters"
	}
	b := chart.Bars{Values: values, Class: class, To: "now", Tips: make([]string, len(values))}
	clock := "15:04"
	if w.Step == time.Hour {
		b.Title, b.Per, b.From = fmt.Sprintf("%s: %s in the last day", sink, what), "hour", fmt.Sprintf("%d h ago", len(values))
		clock = "15:00"
	} else {
		b.Title, b.Per, b.From = fmt.Sprintf("%s: %s in the last hour", sink, what), "minute", fmt.Sprintf("%d min ago", len(values))
	}
	for i, v := range values {
		b.Tips[i] = w.Start.Add(time.Duration(i)*w.Step).UTC().Format(clock) + " UTC: " + display.Count(int(v), one, many)
	}
	return b
}
