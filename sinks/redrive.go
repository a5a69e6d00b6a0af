package sinks

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
)

// RedriveOptions selects and paces a Redrive.
type RedriveOptions struct {
	// Filter selects the items (by sink, time range, error text).
	Filter Filter
	// Max stops after this many items; 0 means every matching item.
	Max int
	// Rate is the most items per second to replay, across all of them in
	// flight; 0 means no limit. Otherwise it is at least MinRedriveRate
	// (see CheckRedriveRate).
	Rate float64
	// DryRun only counts the items that would be replayed.
	DryRun bool
	// Progress, if set, is called after each item with the totals so far.
	// Calls never overlap; with Concurrency > 1 they come from the
	// goroutine that replayed the item, and LastID is that item.
	Progress func(RedriveProgress)
	// Concurrency is how many items are replayed at once: 0 or 1 replays
	// them one at a time; N > 1 starts them in the same order, up to N in
	// flight, and they finish in any order. Negative is an error.
	Concurrency int
}

// RedriveProgress counts what a Redrive did.
type RedriveProgress struct {
	// Matched is the number of items selected so far (in a dry run, the
	// number that would be replayed). With Concurrency > 1 it includes the
	// items in flight.
	Matched int `json:"matched"`
	// Delivered items were sent and removed from the DLQ.
	Delivered int `json:"delivered"`
	// Failed items were sent and failed again; they stay, updated.
	Failed int `json:"failed"`
	// Skipped items could not be replayed (discarded meanwhile, sink not
	// registered, recipient not decodable, a store error reading them);
	// they stay unchanged. LastErr says why.
	Skipped int `json:"skipped"`
	// Busy items were leased by another holder (an operator's replay,
	// another redrive, another process on the same DLQ; see Leaser): they
	// were neither sent nor changed here. LastErr names the holder.
	Busy int `json:"busy"`
	// LastID is the item just handled and LastErr its error, if any.
	LastID  string `json:"last_id,omitempty"` // the item just handled
	LastErr error  `json:"-"`                 // its error, if any
}

// MinRedriveRate is the slowest RedriveOptions.Rate, in items per second:
// one item a day. A slower pace is refused rather than taken as a pause
// too long to be meant (or one a time.Duration cannot hold).
const MinRedriveRate = 1.0 / (24 * 60 * 60)

// CheckRedriveRate returns nil when rate is a RedriveOptions.Rate that
// Redrive takes: 0 (no limit) or a finite number of items per second from
// MinRedriveRate up, and otherwise an error matching ErrInvalidArgument
// that names the option and the value. A caller that starts a redrive in
// the background calls it first, to refuse the rate while it can still
// answer.
func CheckRedriveRate(rate float64) error {
	if rate == 0 || rate >= MinRedriveRate && !math.IsInf(rate, 1) {
		return nil
	}
	return Errorf(CodeInvalidArgument, "Redrive", "RedriveOptions.Rate %v is not 0 (no limit) or a number of items per second from %.3g (one a day) up", rate, MinRedriveRate)
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
// With opts.Concurrency N > 1, up to N items are replayed at once, started
// in the same order; Rate paces the starts, so that the k-th item starts no
// earlier than (k-1)/Rate seconds after the first, however many are in
// flight.
//
// When st is a Leaser, each item is replayed and removed under its lease
// (see LeaseItem), taken for a holder of its own named after the holder ctx
// carries ("redrive" when none): an item another holder has leased is
// skipped and counted as Busy.
//
// It returns the totals, and an error only when the DLQ itself fails or ctx
// is cancelled (then with the totals so far); the failures of single items
// are counted, not returned. On such an error the items in flight have
// their context cancelled, and Redrive returns once they are all done. With
// DryRun, nothing is sent: Matched says how many items would be. A negative
// Concurrency, and a Rate CheckRedriveRate refuses, are an error matching
// ErrInvalidArgument.
func Redrive(ctx context.Context, st Store, opts RedriveOptions) (RedriveProgress, error) {
	if opts.Concurrency < 0 {
		return RedriveProgress{}, Errorf(CodeInvalidArgument, "Redrive", "RedriveOptions.Concurrency %d is negative", opts.Concurrency)
	}
	if err := CheckRedriveRate(opts.Rate); err != nil {
		return RedriveProgress{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rd := &redrive{ctx: ctx, cancel: cancel, st: st, opts: &opts}
	if opts.Concurrency > 1 {
		rd.slots = make(chan struct{}, opts.Concurrency)
	}
	err := rd.run()
	rd.wg.Wait()
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.err != nil {
		err = rd.err
	}
	return rd.p, err
}

// redrive is the state of one Redrive call.
type redrive struct {
	ctx    context.Context // the items': cancelled when the redrive stops
	cancel context.CancelCauseFunc
	st     Store
	opts   *RedriveOptions
	slots  chan struct{}  // Concurrency > 1: a token for each item in flight
	wg     sync.WaitGroup // the items in flight

	mu sync.Mutex // guards p and err, and serialises Progress
	p  RedriveProgress
	// err is the first error of an item that stopped the redrive.
	err error
}

// run lists and paces the items and hands each to replay; it returns the
// error that stopped it, if any.
func (rd *redrive) run() error {
	opts := rd.opts
	var interval time.Duration // at most a day (MinRedriveRate)
	if opts.Rate > 0 {
		interval = time.Duration(float64(time.Second) / opts.Rate)
	}
	// due is when the next item may start: the k-th one (k-1) intervals
	// after the first, added up rather than multiplied, so that no count
	// of items overflows.
	due := time.Now()
	cursor := ""
	started := 0
	for {
		if err := rd.ctx.Err(); err != nil {
			return err
		}
		// Previews: a page of whole items could be large, and only ids
		// are needed here (Replay reads each item).
		page, next, err := ListPreviews(rd.ctx, rd.st, opts.Filter, cursor, redrivePage, PreviewOptions{})
		if err != nil {
			return err
		}
		for _, it := range page {
			if opts.Max > 0 && started >= opts.Max {
				return nil
			}
			if err := rd.ctx.Err(); err != nil {
				return err
			}
			if !opts.DryRun && interval > 0 {
				if err := sleep(rd.ctx, time.Until(due)); err != nil {
					return err
				}
				due = due.Add(interval)
			}
			if err := rd.acquire(); err != nil {
				return err
			}
			started++
			rd.mu.Lock()
			rd.p.Matched++
			rd.p.LastID, rd.p.LastErr = it.ID, nil
			rd.mu.Unlock()
			switch {
			case opts.DryRun:
				rd.done(it.ID, nil, nil)
			case rd.slots == nil:
				if err := rd.replay(it.ID); err != nil {
					return err
				}
			default:
				rd.wg.Go(func() {
					defer func() { <-rd.slots }()
					if err := rd.replay(it.ID); err != nil {
						rd.stop(err)
					}
				})
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// acquire waits for a free slot when items run concurrently.
func (rd *redrive) acquire() error {
	if rd.slots == nil || rd.opts.DryRun {
		return nil
	}
	select {
	case rd.slots <- struct{}{}:
	case <-rd.ctx.Done():
		return rd.ctx.Err()
	}
	// An item that stops the redrive cancels it before it frees its slot.
	if err := rd.ctx.Err(); err != nil {
		<-rd.slots
		return err
	}
	return nil
}

// stop records the first error that stops the redrive and cancels the
// items in flight.
func (rd *redrive) stop(err error) {
	rd.mu.Lock()
	if rd.err == nil {
		rd.err = err
	}
	rd.mu.Unlock()
	rd.cancel(err)
}

// replay replays one item under its lease and counts the outcome; it
// returns an error only when the redrive must stop.
func (rd *redrive) replay(id string) error {
	ctx, release, err := LeaseItem(rd.itemHolder(), rd.st, id)
	defer release()
	if err == nil {
		err = rd.st.Replay(ctx, id)
	}
	switch {
	case err == nil:
		if derr := rd.st.Discard(context.WithoutCancel(ctx), id); derr != nil {
			rd.record(id, derr)
			return derr
		}
		rd.done(id, nil, &rd.p.Delivered)
	case ctx.Err() != nil:
		rd.record(id, err)
		return ctx.Err()
	case errors.Is(err, ErrClosed):
		rd.record(id, err)
		return err
	case errors.Is(err, ErrBusy):
		rd.done(id, err, &rd.p.Busy)
	default:
		var re *ReplayError
		if errors.As(err, &re) {
			rd.done(id, err, &rd.p.Failed)
		} else {
			rd.done(id, err, &rd.p.Skipped)
		}
	}
	return nil
}

// itemHolder returns the redrive's context with a lease holder for one
// item, named as the holder of the redrive's context, or "redrive".
func (rd *redrive) itemHolder() context.Context {
	name := "redrive (" + processName() + ")"
	if h, ok := LeaseHolderOf(rd.ctx); ok {
		name = h.Name
	}
	return withHolder(rd.ctx, LeaseHolder{Token: newLeaseToken(), Name: name})
}

// record makes id, and its error, the last item handled.
func (rd *redrive) record(id string, err error) {
	rd.mu.Lock()
	rd.p.LastID, rd.p.LastErr = id, err
	rd.mu.Unlock()
}

// done counts an item handled with err in counter (nil: a dry run counts
// nothing more) and reports the totals to Progress.
func (rd *redrive) done(id string, err error, counter *int) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if counter != nil {
		*counter++
	}
	rd.p.LastID, rd.p.LastErr = id, err
	if rd.opts.Progress != nil {
		rd.opts.Progress(rd.p)
	}
}
