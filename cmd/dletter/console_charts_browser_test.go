package main

import (
	"net/http"
	"strings"
	"testing"
)

// chartReport describes the overview's charts of the sink "orders".
type chartReport struct {
	Charts []struct {
		Class, Label, Fill string
		Bars               int
		Tallest            float64
	}
}

const measureCharts = `(() => ({Charts: [...document.querySelectorAll("#charts-orders svg.chart")].map(svg => {
  const bars = [...svg.querySelectorAll("rect.bar")];
  return {Class: svg.getAttribute("class"), Label: svg.getAttribute("aria-label"),
    Fill: bars.length ? getComputedStyle(bars[0]).fill : "",
    Bars: bars.length, Tallest: Math.max(0, ...bars.map(b => b.getBBox().height))};
})}))()`

// TestConsoleChartsInChromium: the overview draws, for each sink, its dead
// letters and deliveries over the last hour (60 bars) and the last day (24
// bars), named with their totals, coloured by the stylesheet (which the
// CSP lets in, unlike inline styles), the tallest bar filling the plot; after
// a restart the daemon's counts start again from zero but the dead letters
// still in the DLQ keep showing.
func TestConsoleChartsInChromium(t *testing.T) {
	first, hook, cfg := consoleSetup(t)
	d := first.d
	d.park(t, hook, 3)
	for range 2 {
		if code := d.api("POST", "/v1/sinks/orders/messages", `{"subject":"fine"}`, nil); code != http.StatusOK && code != http.StatusAccepted {
			t.Fatalf("send: %d", code)
		}
	}

	check := func(d *daemon, dead, delivered string) {
		t.Helper()
		p := consolePage{t: t, ctx: first.ctx, d: d}
		p.open(1280, "/", "charts-orders")
		r := eval[chartReport](p, measureCharts)
		if len(r.Charts) != 4 {
			t.Fatalf("%d charts for orders, want 4: %+v", len(r.Charts), r.Charts)
		}
		for _, c := range r.Charts {
			bars, total := 60, delivered
			if strings.Contains(c.Class, "day") {
				bars = 24
			}
			if strings.Contains(c.Class, "dead") {
				total = dead
			}
			if c.Bars != bars {
				t.Errorf("chart %q: %d bars, want %d", c.Class, c.Bars, bars)
			}
			if !strings.Contains(c.Label, "orders: ") || !strings.Contains(c.Label, ": "+total+" in all") {
				t.Errorf("chart %q: label %q, want %s in all", c.Class, c.Label, total)
			}
			if c.Fill == "" || c.Fill == "rgb(0, 0, 0)" {
				t.Errorf("chart %q: bars filled %q: the stylesheet did not colour them", c.Class, c.Fill)
			}
			if want := 48.0; total != "0" && c.Tallest != want {
				t.Errorf("chart %q: tallest bar %.1f px, want %.0f", c.Class, c.Tallest, want)
			}
		}
	}
	check(d, "3", "2")

	if err := d.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.logs)
	}
	check(startDaemon(t, "--config", cfg), "3", "0")
}
