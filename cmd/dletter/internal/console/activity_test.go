package console

import (
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
)

// TestActivityRows: an action's row tells its real state: running or
// unfinished for a start without an outcome (by whether its op runs here),
// else the outcome with what became of its items, the result's own words
// only when they add something, and a link to a redrive this daemon knows.
func TestActivityRows(t *testing.T) {
	entries := []audit.Entry{
		{Action: "redrive", Target: "rd_1 sink=orders", Result: "failed: 12 of 12 failed", Count: 12, Failed: 12, Op: "op_a"},
		{Action: "redrive", Target: "sink=orders", Result: "started", Phase: audit.PhaseStart, Op: "op_b"},
		{Action: "discard", Target: "sink=x", Result: "started", Phase: audit.PhaseStart, Op: "op_c"},
		{Action: "redrive", Target: "rd_2 sink=orders", Result: "partial: 2 of 5 failed", Count: 5, Failed: 2, Op: "op_d"},
		{Action: "discard", Target: "q=\"x\"", Result: "ok", Count: 3, Op: "op_e"},
		{Action: "replay", Target: "42", Result: "failed: sinks: busy (replay by bob via api)", Op: "op_f"},
		{Action: "redrive", Target: "rd_3 sink=orders", Result: "cancelled after 3 of 12 (1 failed)", Count: 3, Failed: 1, Op: "op_g"},
		// Skipped items are not failures: the result tells them apart.
		{Action: "redrive", Target: "rd_4 sink=orders", Result: "failed: 7 failed, 4 skipped of 11", Count: 11, Failed: 11, Op: "op_h"},
		{Action: "redrive", Target: "rd_5 sink=orders", Result: "partial: 3 skipped, 1 busy of 9", Count: 9, Failed: 4, Op: "op_i"},
	}
	running := func(op string) bool { return op == "op_b" }
	known := func(id string) bool { return id == "rd_1" || id == "rd_3" }
	want := []struct{ state, items, detail, link string }{
		{"failed", "0 of 12 delivered", "", "/redrives/rd_1"},
		{"running", "", "", ""},
		{"unfinished", "", "", ""},
		{"partial", "3 of 5 delivered", "", ""},
		{"ok", "3 discarded", "", ""},
		{"failed", "", "sinks: busy (replay by bob via api)", ""},
		{"cancelled", "2 of 3 delivered", "cancelled after 3 of 12 (1 failed)", "/redrives/rd_3"},
		{"failed", "0 of 11 delivered", "7 failed, 4 skipped of 11", ""},
		{"partial", "5 of 9 delivered", "3 skipped, 1 busy of 9", ""},
	}
	rows := activityRows(entries, running, known)
	if len(rows) != len(want) {
		t.Fatalf("%d rows for %d entries", len(rows), len(entries))
	}
	for i, w := range want {
		r := rows[i]
		if r.State != w.state || r.Items != w.items || r.Detail != w.detail || r.Link != w.link {
			t.Errorf("row %d (%s %q): state %q items %q detail %q link %q; want %q %q %q %q",
				i, r.Action, r.Result, r.State, r.Items, r.Detail, r.Link, w.state, w.items, w.detail, w.link)
		}
	}
}
