package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dletter/dletter/sinks"
)

// RedeliverResult says what a redelivery did.
type RedeliverResult struct {
	ID        string `json:"id"`
	Sink      string `json:"sink"`
	Delivered bool   `json:"delivered"`
	// Removed is true when the delivered item was taken out of the DLQ.
	Removed bool `json:"removed"`
	// Error is the sink's error when the redelivery failed again; the item
	// stays, with its attempts and history updated.
	Error string `json:"error,omitempty"`
}

// Redeliver re-sends item id through its sink (what the operator asks for
// with `dletter dlq replay`, POST /v1/dlq/items/{id}/replay or the
// console's Replay button; the audit log calls it "replay"). It uses
// sinks.DLQ.Replay, which keeps the item; Redeliver then removes a
// delivered item from the DLQ unless keep is set: an operator who sent a
// message again successfully almost never wants it sent twice. A failed
// redelivery is a result (Delivered false, Error set), not an error; the
// error is for an unknown id (sinks.ErrNotFound), an item that someone else
// is redelivering, redriving or discarding (sinks.ErrBusy: the redelivery
// and the removal hold the item's lease, in Redis for daemons that share
// one) or a store failure.
func (r *Relay) Redeliver(ctx context.Context, a Actor, id string, keep bool) (RedeliverResult, error) {
	if r.opts.ReadOnly {
		return RedeliverResult{}, ErrReadOnly
	}
	ctx, release, err := sinks.LeaseItem(sinks.WithLeaseHolder(ctx, a.describe("replay")), r.opts.Store, id)
	if err != nil {
		r.auditBusy(a, "replay", id, err)
		return RedeliverResult{}, err
	}
	defer release()
	it, err := r.opts.Store.Get(ctx, id)
	if err != nil {
		return RedeliverResult{}, err
	}
	ac, err := r.begin(a, "replay", id)
	if err != nil {
		return RedeliverResult{}, err
	}
	res := RedeliverResult{ID: id, Sink: it.Sink}
	rerr := r.opts.Store.Replay(ctx, id)
	r.opts.Metrics.Redeliver(it.Sink, rerr)
	if rerr != nil {
		res.Error = rerr.Error()
		ac.end(1, 1, outcome(1, 1, rerr))
		return res, nil
	}
	res.Delivered = true
	if !keep {
		if err := r.opts.Store.Discard(ctx, id); err != nil {
			ac.end(1, 0, outcome(1, 0, fmt.Errorf("delivered, but not removed: %w", err)))
			return res, fmt.Errorf("relay: item %s was delivered but could not be removed: %w", id, err)
		}
		res.Removed = true
	}
	ac.end(1, 0, "ok")
	return res, nil
}

// Discard removes item id. An unknown id is an error matching
// sinks.ErrNotFound (the API answers 404), unlike sinks.DLQ.Discard; an
// item that someone else is replaying or redriving, one matching
// sinks.ErrBusy (409).
func (r *Relay) Discard(ctx context.Context, a Actor, id string) error {
	if r.opts.ReadOnly {
		return ErrReadOnly
	}
	if _, err := r.opts.Store.Get(ctx, id); err != nil {
		return err
	}
	ac, err := r.begin(a, "discard", id)
	if err != nil {
		return err
	}
	err = r.opts.Store.Discard(sinks.WithLeaseHolder(ctx, a.describe("discard")), id)
	failed := 0
	if err != nil {
		failed = 1
	}
	ac.end(1, failed, outcome(1, failed, err))
	return err
}

// auditBusy records an action refused because the item is busy.
func (r *Relay) auditBusy(a Actor, action, id string, err error) {
	if errors.Is(err, sinks.ErrBusy) {
		r.refused(a, action, id, err)
	}
}

// pageSize is how many items a bulk action reads at a time.
const pageSize = 500

// DiscardMatching removes every item matching f (at most max when max > 0)
// and returns how many it removed; with dryRun it only counts. A zero filter
// (everything) is refused unless all is set, so that a forgotten flag never
// empties the DLQ. An item that someone else holds (a replay, a redrive, a
// discard, perhaps in another daemon) is left in place and counted in
// busy; the others are still removed. The audit log gets the filter, a
// line per item removed or busy, and the counts.
func (r *Relay) DiscardMatching(ctx context.Context, a Actor, f sinks.Filter, max int, all, dryRun bool) (n, busy int, err error) {
	if f == (sinks.Filter{}) && !all {
		return 0, 0, &FieldError{Field: "all", Reason: "must be true to discard with an empty filter (every item); or give sink, since, until or q"}
	}
	if r.opts.ReadOnly && !dryRun {
		return 0, 0, ErrReadOnly
	}
	ids, err := r.matchingIDs(ctx, f, max)
	if err != nil || dryRun {
		return len(ids), 0, err
	}
	ac, err := r.begin(a, "discard", DescribeFilter(f))
	if err != nil {
		return 0, 0, err
	}
	ctx = sinks.WithLeaseHolder(ctx, a.describe("discard"))
	for _, id := range ids {
		if err = ctx.Err(); err != nil {
			break
		}
		if err = r.opts.Store.Discard(ctx, id); errors.Is(err, sinks.ErrBusy) {
			busy++
			if err = ac.items("busy", id); err != nil {
				break
			}
			continue
		}
		if err != nil {
			break
		}
		n++
		if err = ac.done(id); err != nil {
			break
		}
	}
	// The items removed before an error are recorded too.
	if ferr := ac.flush(); err == nil {
		err = ferr
	}
	result := outcome(n+busy, busy, err)
	if err == nil && busy > 0 {
		result = fmt.Sprintf("partial: %d of %d busy, left in place", busy, n+busy)
	}
	ac.end(n+busy, busy, result)
	return n, busy, err
}

// matchingIDs collects the ids of the items matching f, newest first.
func (r *Relay) matchingIDs(ctx context.Context, f sinks.Filter, max int) ([]string, error) {
	var ids []string
	_, err := r.eachItem(ctx, f, max, func(it sinks.ItemPreview) { ids = append(ids, it.ID) })
	return ids, err
}

// eachItem calls fn with each item matching f, newest first, at most max
// of them (0: all), read as previews that keep only the first byte of the
// body; all is false when it stopped at max with items left.
func (r *Relay) eachItem(ctx context.Context, f sinks.Filter, max int, fn func(sinks.ItemPreview)) (all bool, err error) {
	n, cursor := 0, ""
	for {
		limit := pageSize
		if max > 0 {
			limit = min(pageSize, max-n+1) // one more tells whether any are left
		}
		items, next, err := sinks.ListPreviews(ctx, r.opts.Store, f, cursor, limit, sinks.PreviewOptions{BodyBytes: 1})
		if err != nil {
			return false, err
		}
		for _, it := range items {
			if max > 0 && n >= max {
				return false, nil
			}
			fn(it)
			n++
		}
		if next == "" || len(items) == 0 {
			return true, nil
		}
		cursor = next
	}
}

// DescribeFilter renders f for people and the audit log, such as
// `sink=alerts since=2026-01-02T15:04:05Z q="timeout"`.
func DescribeFilter(f sinks.Filter) string {
	var parts []string
	if f.Sink != "" {
		parts = append(parts, "sink="+f.Sink)
	}
	if !f.Since.IsZero() {
		parts = append(parts, "since="+f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until="+f.Until.UTC().Format(time.RFC3339))
	}
	if f.Contains != "" {
		parts = append(parts, fmt.Sprintf("q=%q", f.Contains))
	}
	if len(parts) == 0 {
		return "all items"
	}
	return strings.Join(parts, " ")
}
