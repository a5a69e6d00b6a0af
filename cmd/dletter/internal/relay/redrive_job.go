package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dletter/dletter/sinks"
)

// redriveKind is the jobs kind of redrives.
const redriveKind = "redrive"

// redriveSpec is what a redrive job is run from, on the daemon that
// started it or on one that resumes it.
type redriveSpec struct {
	Filter      sinks.Filter   `json:"filter"`
	Options     RedriveOptions `json:"options"`
	Actor       Actor          `json:"actor"`
	Description string         `json:"description"`
}

// redriveFunc is the work of a redrive, audited in ac.
func (r *Relay) redriveFunc(a Actor, opts RedriveOptions, ac *action) jobFunc {
	store := r.opts.Store
	return func(ctx context.Context, report func(Progress)) (Progress, error) {
		r.opts.Metrics.RedriveRunning(1)
		defer r.opts.Metrics.RedriveRunning(-1)
		ctx, stop := context.WithCancelCause(ctx)
		defer stop(nil)
		// Count items in the metrics as they are processed, not at the end.
		var last Progress
		count := func(p Progress) {
			r.opts.Metrics.RedriveItems(p.Delivered-last.Delivered, p.Failed-last.Failed)
			last = p
		}
		item := func(id, result string) {
			if err := ac.items(result, id); err != nil {
				stop(err)
			}
		}
		// Items someone else has leased are skipped and counted as busy.
		ctx = sinks.WithLeaseHolder(ctx, a.describe("redrive"))
		p, err := runRedrive(ctx, store, opts, func(p Progress) { count(p); report(p) }, item)
		count(p)
		if cause := context.Cause(ctx); err != nil && errors.Is(cause, ErrAuditUnavailable) {
			err = cause
		}
		ac.end(p.Processed, p.Failed+p.Skipped+p.Busy, redriveOutcome(p, err))
		return p, err
	}
}

// redriveRunner rebuilds a redrive from its spec on a daemon that takes
// it over. A resumed redrive runs again over what is left in the DLQ
// (delivered items were removed; items leased by a replay elsewhere are
// counted as busy), within what remains of its max; it is audited here as
// a new redrive-resume action of the same actor.
func (r *Relay) redriveRunner(b []byte, before Redrive) (jobFunc, error) {
	var spec redriveSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("relay: redrive spec: %w", err)
	}
	opts := spec.Options
	opts.Filter = spec.Filter
	if opts.Max > 0 {
		opts.Max -= before.Progress.Processed
		if opts.Max <= 0 {
			return func(context.Context, func(Progress)) (Progress, error) { return Progress{}, nil }, nil
		}
	}
	ac, err := r.begin(spec.Actor, "redrive-resume", before.ID+" "+spec.Description)
	if err != nil {
		return nil, err
	}
	return r.redriveFunc(spec.Actor, opts, ac), nil
}
