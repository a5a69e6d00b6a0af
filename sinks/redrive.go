package sinks

import (
	"context"
	"errors"
	"time"
)

// RedriveOptions selects and paces a Redrive.
type RedriveOptions struct {
	// Filter selects the items (by sink, time range, error text).
	Filter Filter
	// Max stops after this many items; 0 means every matching item.
	Max int
	// Rate is the most items per second to replay; 0 means no limit.
	Rate float64
	// DryRun only counts the items that would be replayed.
	DryRun bool
	// Progress, if set, is called after each item with the totals so far.
	Progress func(RedriveProgress)
	// Clock paces the rate (default SystemClock); tests pass a fake one.
	Clock Clock
}

// RedriveProgress counts what a Redrive did.
type RedriveProgress struct {
	// Matched is the number of items selected so far (in a dry run, the
	// number that would be replayed).
	Matched int `json:"matched"`
	// Delivered items were sent and removed from the DLQ.
	Delivered int `json:"delivered"`
	// Failed items were sent and failed again; they stay, updated.
	Failed int `json:"failed"`
	// Skipped items could not be replayed (discarded meanwhile, sink not
	// registered, recipient not decodable, a store error reading them);
	// they stay unchanged. LastErr says why.
	Skipped int `json:"skipped"`
	// LastID is the item just handled and LastErr its error, if any.
	LastID  string `json:"last_id,omitempty"` // the item just handled
	LastErr error  `json:"-"`                 // its error, if any
}

// redrivePage is how many items Redrive lists at a time.
const redrivePage = 100

// Redrive replays the items of st that match opts.Filter, newest first, at
// most opts.Max of them, at most opts.Rate per second. Each item goes
// through st.Replay (so through its sink's Retrier, without pushing
// duplicates into the DLQ): a delivered item is removed, a failed one stays
// with its attempts, history and Replays updated. Items pushed while the
// redrive runs are not visited.
//
// It returns the totals, and an error only when the DLQ itself fails or ctx
// is cancelled (then with the totals so far); the failures of single items
// are counted, not returned. With DryRun, nothing is sent: Matched says how
// many items would be.
func Redrive(ctx context.Context, st Store, opts RedriveOptions) (RedriveProgress, error) {
	var p RedriveProgress
	clock := opts.Clock
	if clock == nil {
		clock = SystemClock
	}
	var interval time.Duration
	if opts.Rate > 0 {
		interval = time.Duration(float64(time.Second) / opts.Rate)
	}
	start := clock.Now()
	cursor := ""
	for {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		page, next, err := st.List(ctx, opts.Filter, cursor, redrivePage)
		if err != nil {
			return p, err
		}
		for _, it := range page {
			if opts.Max > 0 && p.Matched >= opts.Max {
				return p, nil
			}
			if err := ctx.Err(); err != nil {
				return p, err
			}
			p.Matched++
			p.LastID, p.LastErr = it.ID, nil
			if !opts.DryRun {
				if interval > 0 {
					due := start.Add(time.Duration(p.Matched-1) * interval)
					if err := clock.Sleep(ctx, due.Sub(clock.Now())); err != nil {
						p.Matched--
						return p, err
					}
				}
				if err := redriveOne(ctx, st, it.ID, &p); err != nil {
					return p, err
				}
			}
			if opts.Progress != nil {
				opts.Progress(p)
			}
		}
		if next == "" {
			return p, nil
		}
		cursor = next
	}
}

// redriveOne replays one item and counts the outcome; it returns an error
// only when the redrive must stop.
func redriveOne(ctx context.Context, st Store, id string, p *RedriveProgress) error {
	err := st.Replay(ctx, id)
	p.LastErr = err
	switch {
	case err == nil:
		if derr := st.Discard(context.WithoutCancel(ctx), id); derr != nil {
			p.LastErr = derr
			return derr
		}
		p.Delivered++
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrClosed):
		return err
	default:
		var re *ReplayError
		if errors.As(err, &re) {
			p.Failed++
		} else {
			p.Skipped++
		}
	}
	return nil
}
