package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dletter/dletter/sinks"
)

// RedriveOptions select the items of a redrive and its pace.
type RedriveOptions struct {
	Filter sinks.Filter `json:"-"`
	// Max bounds the number of items; 0 means all that match.
	Max int `json:"max,omitempty"`
	// Rate is items per second; 0 means as fast as the sinks allow.
	Rate float64 `json:"rate,omitempty"`
	// DryRun only counts the matching items.
	DryRun bool `json:"dry_run,omitempty"`
	// Concurrency is how many items are replayed at once; 0 or 1 replays
	// them one at a time (see sinks.RedriveOptions.Concurrency). Each
	// sink's own delivery limits still apply.
	Concurrency int `json:"concurrency,omitempty"`
}

// MaxRedriveConcurrency bounds RedriveOptions.Concurrency: a sink takes at
// most its delivery concurrency at once anyway, and each item replayed at
// once holds a goroutine.
const MaxRedriveConcurrency = 1000

// CheckConcurrency refuses a redrive concurrency outside
// 0..MaxRedriveConcurrency with a *FieldError naming field.
func CheckConcurrency(field string, n int) error {
	if n < 0 || n > MaxRedriveConcurrency {
		return &FieldError{Field: field, Value: strconv.Itoa(n),
			Reason: fmt.Sprintf("wants how many items to replay at once, 0 to %d (0 or 1: one at a time)", MaxRedriveConcurrency)}
	}
	return nil
}

// CheckRate refuses a redrive rate that sinks.CheckRedriveRate refuses
// (not a number, infinite, negative, or slower than one item a day) with a
// *FieldError naming field.
func CheckRate(field string, rate float64) error {
	if sinks.CheckRedriveRate(rate) != nil {
		return &FieldError{Field: field, Value: strconv.FormatFloat(rate, 'g', -1, 64),
			Reason: fmt.Sprintf("wants items per second: 0 for no limit, or from %.3g (one a day) up", sinks.MinRedriveRate)}
	}
	return nil
}

// DryRunRedrive counts the items a redrive with opts would replay.
func (r *Relay) DryRunRedrive(ctx context.Context, opts RedriveOptions) (int, error) {
	p, err := sinks.Redrive(ctx, r.opts.Store, sinks.RedriveOptions{Filter: opts.Filter, Max: opts.Max, DryRun: true})
	return p.Matched, err
}

// runRedrive counts the matching items first (so that progress has a
// total), then replays them with sinks.Redrive, reporting the totals and
// what became of each item ("ok", "failed: ..." or "skipped: ...") as it
// goes.
func runRedrive(ctx context.Context, store sinks.Store, opts RedriveOptions, report func(Progress), item func(id, result string)) (Progress, error) {
	so := sinks.RedriveOptions{Filter: opts.Filter, Max: opts.Max, DryRun: true}
	dry, err := sinks.Redrive(ctx, store, so)
	if err != nil {
		return Progress{}, err
	}
	total := dry.Matched
	conv := func(p sinks.RedriveProgress) Progress {
		done := p.Delivered + p.Failed + p.Skipped + p.Busy
		return Progress{Matched: max(total, p.Matched), Processed: done,
			Delivered: p.Delivered, Failed: p.Failed, Skipped: p.Skipped, Busy: p.Busy}
	}
	report(Progress{Matched: total})
	var prev sinks.RedriveProgress // Progress calls never overlap
	progress := func(p sinks.RedriveProgress) {
		switch {
		case p.Delivered > prev.Delivered:
			item(p.LastID, "ok")
		case p.Failed > prev.Failed:
			item(p.LastID, "failed: "+errText(p.LastErr))
		case p.Skipped > prev.Skipped:
			item(p.LastID, "skipped: "+errText(p.LastErr))
		case p.Busy > prev.Busy:
			item(p.LastID, "busy: "+errText(p.LastErr))
		}
		prev = p
		report(conv(p))
	}
	// Items pushed after the count are not visited beyond the total.
	so = sinks.RedriveOptions{Filter: opts.Filter, Max: total, Rate: opts.Rate, Concurrency: opts.Concurrency,
		Progress: progress}
	if total == 0 {
		return Progress{}, nil
	}
	p, err := sinks.Redrive(ctx, store, so)
	return conv(p), err
}

func errText(err error) string {
	if err == nil {
		return "no error given"
	}
	return err.Error()
}

// StartRedrive starts a redrive in the background and returns its first
// snapshot; poll it with GetRedrive, stop it with CancelRedrive. The audit
// log gets its start (before anything is sent: a redrive is refused when
// the audit log cannot be written), a line per item replayed, and its
// outcome; a redrive stops when an item cannot be recorded.
func (r *Relay) StartRedrive(a Actor, opts RedriveOptions) (Redrive, error) {
	if r.opts.ReadOnly {
		return Redrive{}, ErrReadOnly
	}
	if err := CheckRate("rate", opts.Rate); err != nil {
		return Redrive{}, err
	}
	if err := CheckConcurrency("concurrency", opts.Concurrency); err != nil {
		return Redrive{}, err
	}
	opts.DryRun = false
	desc := DescribeFilter(opts.Filter)
	if opts.Max > 0 {
		desc += fmt.Sprintf(" max=%d", opts.Max)
	}
	if opts.Rate > 0 {
		desc += fmt.Sprintf(" rate=%g/s", opts.Rate)
	}
	if opts.Concurrency > 1 {
		desc += fmt.Sprintf(" concurrency=%d", opts.Concurrency)
	}
	// The audit log names the redrive from its start, so that the running
	// redrive can be found from its line.
	id := newJobID()
	ac, err := r.begin(a, "redrive", id+" "+desc)
	if err != nil {
		return Redrive{}, err
	}
	spec, err := json.Marshal(redriveSpec{Filter: opts.Filter, Options: opts, Actor: a, Description: desc})
	if err != nil {
		ac.end(0, 0, outcome(0, 0, err))
		return Redrive{}, err
	}
	job, err := r.jobs.StartSpec(id, redriveKind, desc, a.name(), spec, r.redriveFunc(a, opts, ac))
	if err != nil {
		ac.end(0, 0, outcome(0, 0, err))
		return Redrive{}, err
	}
	return job, nil
}

// redriveOutcome words how a redrive ended for the audit log, with the
// counts the API gives: "ok", "partial: 2 of 5 failed", "failed: 7
// failed, 4 skipped of 11", "cancelled after 3 of 10 (1 failed)".
func redriveOutcome(p Progress, err error) string {
	bad := p.Failed + p.Skipped + p.Busy
	switch {
	case errors.Is(err, context.Canceled):
		s := fmt.Sprintf("cancelled after %d of %d", p.Processed, p.Matched)
		if bad > 0 {
			s += " (" + notDelivered(p) + ")"
		}
		return s
	case err != nil || bad == p.Failed:
		return outcome(p.Processed, bad, err)
	case p.Delivered > 0:
		return fmt.Sprintf("%s: %s of %d", ResultPartial, notDelivered(p), p.Processed)
	}
	return fmt.Sprintf("%s: %s of %d", ResultFailed, notDelivered(p), p.Processed)
}

// notDelivered words the items of p that were not delivered: "7 failed, 4
// skipped, 1 busy", leaving out the counts that are 0.
func notDelivered(p Progress) string {
	var parts []string
	for _, c := range []struct {
		n    int
		word string
	}{{p.Failed, "failed"}, {p.Skipped, "skipped"}, {p.Busy, "busy"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.word))
		}
	}
	return strings.Join(parts, ", ")
}

// redriveFinished records a finished redrive.
func (r *Relay) redriveFinished(j Redrive) {
	r.log.Info("redrive finished", "id", j.ID, "state", j.State, "matched", j.Progress.Matched,
		"delivered", j.Progress.Delivered, "failed", j.Progress.Failed, "err", j.Error)
}

// GetRedrive returns redrive id; an unknown id matches sinks.ErrNotFound.
func (r *Relay) GetRedrive(id string) (Redrive, error) {
	j, err := r.jobs.Get(id)
	if err != nil {
		return j, sinks.Errorf(sinks.CodeNotFound, "redrive", "no redrive %q", id)
	}
	return j, nil
}

// ListRedrives returns the running and recent redrives, newest first.
func (r *Relay) ListRedrives() []Redrive { return r.jobs.List() }

// WaitRedrive blocks until redrive id has finished or ctx ends.
func (r *Relay) WaitRedrive(ctx context.Context, id string) (Redrive, error) {
	j, err := r.jobs.Wait(ctx, id)
	if err == errJobNotFound {
		return j, sinks.Errorf(sinks.CodeNotFound, "redrive", "no redrive %q", id)
	}
	return j, err
}

// CancelRedrive stops redrive id and returns its final snapshot. Items
// already delivered stay delivered; the rest stay in the DLQ.
func (r *Relay) CancelRedrive(ctx context.Context, a Actor, id string) (Redrive, error) {
	if r.opts.ReadOnly {
		return Redrive{}, ErrReadOnly
	}
	if _, err := r.jobs.Get(id); err != nil {
		return Redrive{}, sinks.Errorf(sinks.CodeNotFound, "redrive", "no redrive %q", id)
	}
	ac, err := r.begin(a, "redrive-cancel", id)
	if err != nil {
		return Redrive{}, err
	}
	j, err := r.jobs.Cancel(ctx, id)
	if err == errJobNotFound {
		err = sinks.Errorf(sinks.CodeNotFound, "redrive", "no redrive %q", id)
	}
	ac.end(j.Progress.Processed, 0, outcome(j.Progress.Processed, 0, err))
	return j, err
}
