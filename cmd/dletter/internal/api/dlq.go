package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// ItemsPage is the body of GET /v1/dlq/items: previews, each body cut to
// its first sinks.DefaultPreviewBytes (GET /v1/dlq/items/{id} has it all),
// and at most about sinks.DefaultPageBytes of them.
type ItemsPage struct {
	Items []sinks.ItemPreview `json:"items"`
	// NextCursor fetches the following page; "" when this is the last.
	NextCursor string `json:"next_cursor"`
}

func (a *API) listItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := relay.FilterParams{Sink: q.Get("sink"), Since: q.Get("since"), Until: q.Get("until"), Q: q.Get("q")}.Filter(time.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := relay.ParseLimit("limit", q.Get("limit"), DefaultLimit, MaxLimit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	items, next, err := a.relay.ListPreviews(r.Context(), f, q.Get("cursor"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeItemsPage(w, items, next)
}

func (a *API) count(w http.ResponseWriter, r *http.Request) {
	sink := r.URL.Query().Get("sink")
	n, err := a.relay.Count(r.Context(), sink)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sink": sink, "count": n})
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	st, err := a.relay.Store().Stats(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if st.BySink == nil {
		st.BySink = map[string]int64{}
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *API) getItem(w http.ResponseWriter, r *http.Request) {
	it, err := a.relay.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (a *API) discardItem(w http.ResponseWriter, r *http.Request) {
	if err := a.relay.Discard(r.Context(), ActorOf(r, "api"), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// redeliverItem answers 200 when delivered and 502 with the sink's error when
// it failed again (the item stays, updated). ?keep=true keeps a delivered
// item in the DLQ.
func (a *API) redeliverItem(w http.ResponseWriter, r *http.Request) {
	keep, err := parseBool("keep", r.URL.Query().Get("keep"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.relay.Redeliver(r.Context(), ActorOf(r, "api"), r.PathValue("id"), keep)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if !res.Delivered {
		status = http.StatusBadGateway
	}
	writeJSON(w, status, res)
}

// SelectRequest is the body of POST /v1/dlq/redrive and /v1/dlq/discard.
type SelectRequest struct {
	relay.FilterParams
	// Max bounds the number of items; 0 means every match.
	Max int `json:"max,omitempty"`
	// Rate is items per second for a redrive; 0 means unpaced.
	Rate float64 `json:"rate,omitempty"`
	// Concurrency is how many items a redrive replays at once; 0 or 1
	// means one at a time.
	Concurrency int `json:"concurrency,omitempty"`
	// DryRun only counts.
	DryRun bool `json:"dry_run,omitempty"`
	// All confirms a discard with an empty filter. A redrive needs no
	// confirmation (it removes only what it delivers) and ignores it.
	All bool `json:"all,omitempty"`
}

func (a *API) parseSelect(w http.ResponseWriter, r *http.Request) (SelectRequest, sinks.Filter, bool) {
	var req SelectRequest
	if err := decodeBody(w, r, &req); err != nil {
		a.fail(w, r, err)
		return req, sinks.Filter{}, false
	}
	f, err := req.Filter(time.Now())
	if err == nil && req.Max < 0 {
		err = &relay.FieldError{Field: "max", Value: strconv.Itoa(req.Max), Reason: "must not be negative"}
	}
	if err == nil {
		err = relay.CheckRate("rate", req.Rate)
	}
	if err == nil {
		err = relay.CheckConcurrency("concurrency", req.Concurrency)
	}
	if err != nil {
		a.fail(w, r, err)
		return req, f, false
	}
	return req, f, true
}

func (a *API) discardMatching(w http.ResponseWriter, r *http.Request) {
	req, f, ok := a.parseSelect(w, r)
	if !ok {
		return
	}
	n, busy, err := a.relay.DiscardMatching(r.Context(), ActorOf(r, "api"), f, req.Max, req.All, req.DryRun)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if req.DryRun {
		writeJSON(w, http.StatusOK, map[string]any{"matched": n, "dry_run": true})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"discarded": n, "busy": busy, "dry_run": false})
}

// startRedrive answers a dry run with the count (200) and starts a real
// redrive in the background (202, Location: /v1/dlq/redrives/{id}).
func (a *API) startRedrive(w http.ResponseWriter, r *http.Request) {
	req, f, ok := a.parseSelect(w, r)
	if !ok {
		return
	}
	opts := relay.RedriveOptions{Filter: f, Max: req.Max, Rate: req.Rate, Concurrency: req.Concurrency}
	if req.DryRun {
		n, err := a.relay.DryRunRedrive(r.Context(), opts)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"matched": n, "dry_run": true})
		return
	}
	job, err := a.relay.StartRedrive(ActorOf(r, "api"), opts)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/dlq/redrives/"+job.ID)
	writeJSON(w, http.StatusAccepted, job)
}

func (a *API) listRedrives(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"redrives": a.relay.ListRedrives()})
}

func (a *API) getRedrive(w http.ResponseWriter, r *http.Request) {
	job, err := a.relay.GetRedrive(r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, job)
}

func (a *API) cancelRedrive(w http.ResponseWriter, r *http.Request) {
	job, err := a.relay.CancelRedrive(r.Context(), ActorOf(r, "api"), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, job)
}

func parseBool(field, s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, &relay.FieldError{Field: field, Value: s, Reason: "wants true or false"}
	}
	return b, nil
}

// recentActions answers the latest audited actions, newest first.
func (a *API) recentActions(w http.ResponseWriter, r *http.Request) {
	limit, err := relay.ParseLimit("limit", r.URL.Query().Get("limit"), 100, MaxLimit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	entries, err := a.relay.RecentActions(limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if entries == nil {
		entries = []audit.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}
