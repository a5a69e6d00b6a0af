package server_test

import (
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// TestConsoleChartsOfAHostileSink: the overview charts every sink, those
// known only from their items in the DLQ included; a sink name that holds
// markup stays text in the charts' ids, titles and labels, and its dead
// letter from before the daemon started is counted from the DLQ.
func TestConsoleChartsOfAHostileSink(t *testing.T) {
	e := setup(t, setupOpts{})
	evil := `<script>alert("s")</script>'x`
	if _, err := e.core.Store.Add(context.Background(), sinks.DLQItem{Sink: evil, At: time.Now().Add(-2 * time.Minute), Message: sinks.Message{Subject: "s"}}); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/", "")
	if r.status != 200 {
		t.Fatalf("GET /: %d %s", r.status, r.body)
	}
	if strings.Contains(r.body, "<script>") {
		t.Fatal("the sink name came out as markup")
	}
	// hook, other and the hostile one: 4 charts each, 60 or 24 bars.
	if n := strings.Count(r.body, `<svg class="chart `); n != 12 {
		t.Fatalf("%d charts, want 12", n)
	}
	if n := strings.Count(r.body, `<rect class="bar"`); n != 3*2*(60+24) {
		t.Fatalf("%d bars, want %d", n, 3*2*(60+24))
	}
	label := `aria-label="` + html.EscapeString(evil) + `: dead letters in the last hour: 1 in all, at most 1 in one minute"`
	if !strings.Contains(r.body, label) {
		t.Fatalf("no escaped label %s in the overview", label)
	}
}
