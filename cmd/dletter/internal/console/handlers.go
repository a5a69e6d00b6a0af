package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// listLimit is the number of items on a page of the list.
const listLimit = 50

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	st, rows, err := c.relay.Overview(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	live := false // a daemon reports each sink's delivery state
	names := make([]string, len(rows))
	for i, row := range rows {
		live = live || row.SinkDelivery != nil
		names[i] = row.Sink
	}
	charts, all, err := c.charts(r.Context(), names)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Data: map[string]any{
		"Stats": st, "Sinks": rows, "Redrives": c.relay.ListRedrives(), "Live": live,
		"Charts": charts, "ChartsAll": all, "ChartItems": maxChartItems,
	}})
}

// filterForm reads the filter fields of a query string or a form.
func filterForm(v url.Values) relay.FilterParams {
	return relay.FilterParams{Sink: v.Get("sink"), Since: v.Get("since"), Until: v.Get("until"), Q: v.Get("q")}
}

// filterQuery encodes p back into a query string.
func filterQuery(p relay.FilterParams) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"sink": p.Sink, "since": p.Since, "until": p.Until, "q": p.Q} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func (c *Console) items(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	params := filterForm(q)
	data := map[string]any{"Params": params, "Sinks": c.relay.SinkNames(), "Query": filterQuery(params)}
	f, err := params.Filter(time.Now())
	if err != nil {
		data["FilterError"] = err.Error()
		c.render(w, r, http.StatusBadRequest, "items", page{Title: "Items", Nav: "items", Data: data})
		return
	}
	cursor := q.Get("cursor")
	items, next, err := c.relay.ListPreviews(r.Context(), f, cursor, listLimit)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	count := -1
	if f.Since.IsZero() && f.Until.IsZero() && f.Contains == "" {
		count, _ = c.relay.Count(r.Context(), f.Sink)
	}
	nextQuery := filterQuery(params)
	nextQuery.Set("cursor", next)
	data["Items"], data["Next"], data["NextQuery"] = items, next, nextQuery
	data["Count"], data["Paged"], data["Filtered"] = count, cursor != "", f != (sinks.Filter{})
	c.render(w, r, http.StatusOK, "items", page{Title: "Items", Nav: "items", Data: data})
}

func (c *Console) item(w http.ResponseWriter, r *http.Request) {
	it, err := c.relay.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	history := make([]sinks.Attempt, len(it.History))
	for i, a := range it.History { // newest first on the page
		history[len(it.History)-1-i] = a
	}
	c.render(w, r, http.StatusOK, "item", page{Title: "Item " + it.ID, Nav: "items", Data: map[string]any{
		"Item": it, "History": history, "Recipient": it.Recipient,
	}})
}

func (c *Console) replay(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r) {
		return
	}
	id := r.PathValue("id")
	res, err := c.relay.Redeliver(r.Context(), c.actor(r), id, false)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if res.Delivered {
		http.Redirect(w, r, "/items?flash=replayed&sink="+url.QueryEscape(res.Sink), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/items/"+url.PathEscape(id)+"?flash=replay-failed", http.StatusSeeOther)
}

func (c *Console) confirmDiscardItem(w http.ResponseWriter, r *http.Request) {
	it, err := c.relay.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "confirm", page{Title: "Discard item", Nav: "items", Data: map[string]any{
		"Action": "/items/" + url.PathEscape(it.ID) + "/discard", "Verb": "Discard",
		"Question": "Discard this item? The message will not be delivered and cannot be recovered.",
		"Item":     it, "Danger": true, "Back": "/items/" + url.PathEscape(it.ID),
	}})
}

func (c *Console) discardItem(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r) {
		return
	}
	id := r.PathValue("id")
	it, err := c.relay.Get(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.relay.Discard(r.Context(), c.actor(r), id); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/items?flash=discarded&sink="+url.QueryEscape(it.Sink), http.StatusSeeOther)
}

// selection reads a filter and a max from a query string or form.
func (c *Console) selection(v url.Values) (relay.FilterParams, sinks.Filter, int, error) {
	params := filterForm(v)
	f, err := params.Filter(time.Now())
	if err != nil {
		return params, f, 0, err
	}
	max := 0
	if s := strings.TrimSpace(v.Get("max")); s != "" {
		if max, err = strconv.Atoi(s); err != nil || max < 0 {
			return params, f, 0, &relay.FieldError{Field: "max", Value: s, Reason: "wants a whole number, 0 for all"}
		}
	}
	return params, f, max, nil
}

// confirmDiscard shows how many items a bulk discard would remove.
func (c *Console) confirmDiscard(w http.ResponseWriter, r *http.Request) {
	params, f, max, err := c.selection(r.URL.Query())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	n, _, err := c.relay.DiscardMatching(r.Context(), c.actor(r), f, max, true, true)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "confirm", page{Title: "Discard items", Nav: "items", Data: map[string]any{
		"Action": "/discard", "Verb": "Discard " + strconv.Itoa(n) + " items", "Danger": true,
		"Question": "Discard every item matching " + relay.DescribeFilter(f) + "? They will not be delivered and cannot be recovered.",
		"Count":    n, "Params": params, "Max": max, "Back": "/items?" + filterQuery(params).Encode(),
	}})
}

func (c *Console) discard(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r) {
		return
	}
	params, f, max, err := c.selection(r.PostForm)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	_, busy, err := c.relay.DiscardMatching(r.Context(), c.actor(r), f, max, true, false)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	q := filterQuery(params)
	q.Set("flash", "bulk-discarded")
	if busy > 0 {
		q.Set("flash", "bulk-discarded-busy")
	}
	http.Redirect(w, r, "/items?"+q.Encode(), http.StatusSeeOther)
}

// redriveForm shows the redrive form and, when asked (preview=1), the number
// of matching items from a dry run, with the button that starts it.
func (c *Console) redriveForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	params, f, max, err := c.selection(q)
	data := map[string]any{"Params": params, "Sinks": c.relay.SinkNames(), "Max": max, "Rate": q.Get("rate"),
		"Concurrency": strings.TrimSpace(q.Get("concurrency"))}
	if err != nil {
		data["FilterError"] = err.Error()
		c.render(w, r, http.StatusBadRequest, "redrive", page{Title: "Redrive", Nav: "redrives", Data: data})
		return
	}
	if q.Get("preview") != "" {
		opts, err := redrivePace(q)
		if err != nil {
			data["FilterError"] = err.Error()
			c.render(w, r, http.StatusBadRequest, "redrive", page{Title: "Redrive", Nav: "redrives", Data: data})
			return
		}
		opts.Filter, opts.Max = f, max
		n, err := c.relay.DryRunRedrive(r.Context(), opts)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		data["Preview"], data["Count"], data["Described"] = true, n, relay.DescribeFilter(f)
		data["AtOnce"], data["PerSecond"] = opts.Concurrency, opts.Rate
	}
	c.render(w, r, http.StatusOK, "redrive", page{Title: "Redrive", Nav: "redrives", Data: data})
}

// redrivePace reads the rate and the concurrency of a redrive form.
func redrivePace(v url.Values) (relay.RedriveOptions, error) {
	rate, err := parseRate(v.Get("rate"))
	if err != nil {
		return relay.RedriveOptions{}, err
	}
	n, err := parseConcurrency(v.Get("concurrency"))
	if err != nil {
		return relay.RedriveOptions{}, err
	}
	return relay.RedriveOptions{Rate: rate, Concurrency: n}, nil
}

func parseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v > 1e6 {
		return 0, &relay.FieldError{Field: "rate", Value: s, Reason: "wants items per second, such as 5 (0 for no limit)"}
	}
	return v, relay.CheckRate("rate", v)
}

// parseConcurrency reads how many items to replay at once; empty means one
// at a time.
func parseConcurrency(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &relay.FieldError{Field: "concurrency", Value: s, Reason: "wants a whole number of items to replay at once (empty: one at a time)"}
	}
	return n, relay.CheckConcurrency("concurrency", n)
}

func (c *Console) startRedrive(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r) {
		return
	}
	_, f, max, err := c.selection(r.PostForm)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	opts, err := redrivePace(r.PostForm)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	opts.Filter, opts.Max = f, max
	job, err := c.relay.StartRedrive(c.actor(r), opts)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/redrives/"+url.PathEscape(job.ID)+"?flash=redrive-started", http.StatusSeeOther)
}

func (c *Console) redrives(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "redrives", page{Title: "Redrives", Nav: "redrives", Data: c.relay.ListRedrives()})
}

func (c *Console) redrive(w http.ResponseWriter, r *http.Request) {
	job, err := c.relay.GetRedrive(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "job", page{Title: "Redrive " + job.ID, Nav: "redrives", Data: job})
}

func (c *Console) cancelRedrive(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r) {
		return
	}
	job, err := c.relay.CancelRedrive(r.Context(), c.actor(r), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/redrives/"+url.PathEscape(job.ID)+"?flash=cancelled", http.StatusSeeOther)
}
