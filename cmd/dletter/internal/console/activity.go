package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
)

// activityRow is an audited action as the Activity page shows it: its
// state in a word, what became of its items, and what went wrong in the
// result's own words when the counts do not say it all.
type activityRow struct {
	audit.Entry
	// State is "running", "unfinished" (a start without an outcome that is
	// not running here: the process that ran it stopped first), or the
	// outcome: "ok", "partial", "failed", "cancelled".
	State string
	// Items says what became of the items, such as "0 of 12 delivered";
	// "" when the action counted none.
	Items string
	// Detail is the result when it says more than State and Items.
	Detail string
	// Link is the page of the redrive the action is about, if it is known.
	Link string
}

// Action verbs for what became of the items of each action.
var itemVerbs = map[string]string{
	"replay": "delivered", "redrive": "delivered", "redrive-resume": "delivered",
	"discard": "discarded", "import": "imported",
}

// activityRows turns audit entries (outcomes, and starts without one)
// into rows; running reports whether an op is under way in this daemon.
func activityRows(entries []audit.Entry, running func(op string) bool, redrive func(id string) bool) []activityRow {
	rows := make([]activityRow, len(entries))
	for i, e := range entries {
		row := activityRow{Entry: e, State: e.Outcome()}
		if row.State == audit.OutcomeStarted {
			row.State = "unfinished"
			if running(e.Op) {
				row.State = "running"
			}
		} else {
			row.Items, row.Detail = itemWords(e), detailWords(e)
		}
		if id := redriveID(e); id != "" && redrive(id) {
			row.Link = "/redrives/" + url.PathEscape(id)
		}
		rows[i] = row
	}
	return rows
}

// itemWords says what became of the items of an ended action: "0 of 12
// delivered", "12 discarded".
func itemWords(e audit.Entry) string {
	verb, ok := itemVerbs[e.Action]
	switch {
	case !ok || e.Count <= 0:
		return ""
	case e.Failed > 0:
		return fmt.Sprintf("%d of %d %s", max(e.Count-e.Failed, 0), e.Count, verb)
	}
	return fmt.Sprintf("%d %s", e.Count, verb)
}

// detailWords returns the result of an ended action unless it only
// repeats its outcome and counts ("ok", "failed: 12 of 12 failed").
func detailWords(e audit.Entry) string {
	switch e.Result {
	case "ok", "", fmt.Sprintf("failed: %d of %d failed", e.Failed, e.Count), fmt.Sprintf("partial: %d of %d failed", e.Failed, e.Count):
		return ""
	}
	if rest, ok := strings.CutPrefix(e.Result, e.Outcome()+": "); ok {
		return rest
	}
	return e.Result
}

// redriveID is the redrive an entry is about: the first word of the target
// of a redrive's outcome, of a resumed one or of a cancel.
func redriveID(e audit.Entry) string {
	if !strings.HasPrefix(e.Action, "redrive") {
		return ""
	}
	id, _, _ := strings.Cut(e.Target, " ")
	if !strings.HasPrefix(id, "rd_") {
		return ""
	}
	return id
}

// activity shows the audit log: who replayed, redrove or discarded what,
// and how it ended.
func (c *Console) activity(w http.ResponseWriter, r *http.Request) {
	entries, err := c.relay.RecentActions(200)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	known := func(id string) bool { _, err := c.relay.GetRedrive(id); return err == nil }
	rows := activityRows(entries, c.relay.Running, known)
	running := false
	for _, row := range rows {
		running = running || row.State == "running"
	}
	c.render(w, r, http.StatusOK, "activity", page{Title: "Activity", Nav: "activity",
		Data: map[string]any{"Rows": rows, "Running": running}})
}
