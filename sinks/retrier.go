package sinks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// pushTimeout bounds a Retrier's DLQ push, which runs on a context detached
// from the caller's cancellation.
const pushTimeout = 10 * time.Second

// Retrier wraps a Sink with retry-then-dead-letter: transient failures are
// retried with capped exponential backoff; when the budget is spent, or at
// once on a terminal failure, the message is parked in the DLQ.
//
// Send is synchronous: it returns when the message was delivered (nil), or
// when it is safe in the DLQ (an error matching ErrDeadLettered, a
// *DeadLetterError carrying the item's ID), or when it was neither (an error
// that wraps the delivery error and, if the DLQ refused it, the DLQ's error).
// A caller that cancels its context stops the retries, but the message is
// still dead-lettered: the push runs on a context detached from the caller's
// cancellation, bounded by its own timeout.
//
// A wrapped sink that panics in Send does not take the process down: the
// panic is a terminal failure, whose error names the function and line
// where it began, and the message is dead-lettered (to be redelivered once
// the sink is fixed) instead of lost, or retried into the same panic at
// every start of a Dispatcher.
//
// The Retrier is itself a Sink with the wrapped sink's Name. A Retrier built
// as a struct literal works with the defaults; NewRetrier adds options. The
// exported fields must not change once Send is in use.
type Retrier struct {
	Inner Sink        // the wrapped sink
	Cfg   RetryConfig // the retry policy (normalized at each Send)
	DLQ   DLQ         // optional; nil disables the DLQ push
	// IsTransientFn overrides the default classifier, IsTransient. Optional.
	IsTransientFn func(error) bool

	opts retrierOptions
}

type retrierOptions struct {
	attemptTimeout time.Duration
	observer       Observer
	random         func() float64
	gate           *gate // the sink's delivery limits; nil for none
}

// RetrierOption configures a Retrier built by NewRetrier.
type RetrierOption func(*retrierOptions)

// WithAttemptTimeout bounds each Send call of the wrapped sink. An attempt
// that runs out of time counts as a transient failure (the caller's own
// deadline still stops everything). 0, the default, sets no bound.
func WithAttemptTimeout(d time.Duration) RetrierOption {
	return func(o *retrierOptions) { o.attemptTimeout = d }
}

// WithObserver attaches an Observer (metrics, logs) to the Retrier.
func WithObserver(fn Observer) RetrierOption {
	return func(o *retrierOptions) { o.observer = fn }
}

// WithRandom replaces the source of jitter: fn returns a float in [0, 1).
// A constant 0.5 gives waits without jitter.
func WithRandom(fn func() float64) RetrierOption {
	return func(o *retrierOptions) { o.random = fn }
}

// withGate makes every attempt pass g (see WithDeliveryPolicy).
func withGate(g *gate) RetrierOption {
	return func(o *retrierOptions) { o.gate = g }
}

// NewRetrier wraps inner with cfg (normalized) and dlq (nil for none).
func NewRetrier(inner Sink, cfg RetryConfig, dlq DLQ, opts ...RetrierOption) *Retrier {
	r := &Retrier{Inner: inner, Cfg: cfg.Normalize(), DLQ: dlq}
	for _, o := range opts {
		o(&r.opts)
	}
	return r
}

// Name returns the inner sink's name: callers need not know whether a sink
// is wrapped.
func (r *Retrier) Name() string { return r.Inner.Name() }

// IsRetrier marks the Retrier for a Registry's wrap-once check: a sink with
// a Retrier anywhere in its chain of wrappers is not wrapped again.
func (r *Retrier) IsRetrier() bool { return true }

// Unwrap returns the wrapped sink.
func (r *Retrier) Unwrap() Sink { return r.Inner }

// Send delivers m to `to` through the wrapped sink, retrying and
// dead-lettering as the type's documentation says. The message's delivery
// id (WithDeliveryID) is kept across attempts and stored with the DLQ item;
// when ctx carries none, Send mints one with NewDeliveryID.
func (r *Retrier) Send(ctx context.Context, to Recipient, m Message) error {
	cfg := r.Cfg.Normalize()
	id := DeliveryID(ctx)
	if id == "" {
		id = NewDeliveryID()
		ctx = WithDeliveryID(ctx, id)
	}
	run := replayFrom(ctx)

	var failed DLQItem // the failures so far; allocated only on failure
	var lastErr error
	attempt := 0
	for {
		attempt++
		elapsed, err := r.tryOnce(ctx, ctx, id, attempt, to, m, admission{})
		if errors.Is(err, ErrCircuitOpen) {
			// Dead-letter at once rather than spend the attempts on a sink
			// known to be down: the refusal is in the history, but it was
			// no Send call.
			lastErr = err
			failed.RecordFailure(time.Now(), err)
			failed.Attempts--
			attempt--
			break
		}
		if err == nil {
			if run != nil {
				r.endReplay(ctx, run, id, attempt, &failed, nil)
			}
			return nil
		}
		lastErr = err
		failed.RecordFailure(time.Now(), err)
		wait, retry := r.next(ctx, cfg, attempt, err)
		r.observe(ctx, Event{Kind: EventFailure, Sink: r.Name(), DeliveryID: id, Attempt: attempt, Elapsed: elapsed, Wait: wait, Err: err})
		if !retry {
			break
		}
		if sleep(ctx, wait) != nil {
			break // the caller gave up: dead-letter what we have
		}
	}

	switch {
	case run != nil: // a replay: the DLQ item is updated by the replay, not pushed again
		r.endReplay(ctx, run, id, attempt, &failed, lastErr)
		return lastErr
	case r.DLQ == nil:
		return lastErr
	}
	return r.deadLetter(ctx, id, to, m, &failed, lastErr)
}

// endReplay hands what the attempts of a replay did back to ReplayItem.
func (r *Retrier) endReplay(ctx context.Context, run *replayRun, id string, attempts int, failed *DLQItem, err error) {
	run.sends += attempts
	run.failures = append(run.failures, failed.History...)
	r.observe(ctx, Event{Kind: EventReplay, Sink: r.Name(), DeliveryID: id, Attempt: attempts, Err: err, ItemID: run.itemID})
}

// tryOnce makes attempt n through the sink's gate, when it has one: it
// waits for a slot and a rate token on waitCtx, as adm says, then sends on
// ctx. The outcome is reported to the circuit.
func (r *Retrier) tryOnce(waitCtx, ctx context.Context, id string, n int, to Recipient, m Message, adm admission) (time.Duration, error) {
	g := r.opts.gate
	if g == nil {
		return r.attempt(ctx, id, n, to, m)
	}
	t, err := g.acquire(waitCtx, adm)
	if err != nil {
		if errors.Is(err, ErrCircuitOpen) {
			return 0, err
		}
		return 0, &notAdmittedError{err: err}
	}
	elapsed, err := r.attempt(ctx, id, n, to, m)
	g.release(t, r.outcomeOf(ctx, err), err)
	return elapsed, err
}

// outcomeOf says what err tells of the sink's health: a transient failure
// counts against it, a success or a terminal failure (the sink answered)
// for it, and a send cut short by the caller says nothing.
func (r *Retrier) outcomeOf(ctx context.Context, err error) outcome {
	switch {
	case err == nil:
		return outcomeSuccess
	case ctx.Err() != nil:
		return outcomeNeutral
	case r.transient(err):
		return outcomeFailure
	}
	return outcomeSuccess
}

// attempt makes one Send call, bounded by the attempt timeout, and says how
// long it took when an observer wants to know.
func (r *Retrier) attempt(ctx context.Context, id string, n int, to Recipient, m Message) (elapsed time.Duration, err error) {
	var start time.Time
	if r.opts.observer != nil {
		r.observe(ctx, Event{Kind: EventAttempt, Sink: r.Name(), DeliveryID: id, Attempt: n})
		start = time.Now()
	}
	if d := r.opts.attemptTimeout; d > 0 {
		actx, cancel := context.WithTimeout(ctx, d)
		err = r.send(actx, to, m)
		if err != nil && actx.Err() != nil && ctx.Err() == nil {
			err = &attemptTimeoutError{limit: d, err: err}
		}
		cancel()
	} else {
		err = r.send(ctx, to, m)
	}
	if r.opts.observer != nil {
		elapsed = time.Since(start)
		if err == nil {
			r.observe(ctx, Event{Kind: EventSuccess, Sink: r.Name(), DeliveryID: id, Attempt: n, Elapsed: elapsed})
		}
	}
	return elapsed, err
}

// next decides whether attempt's failure err is retried, and after what
// wait: at least the server's Retry-After, which beyond MaxBackoff ends the
// retries at once (the message goes to the DLQ rather than block the
// caller for longer than the policy allows).
func (r *Retrier) next(ctx context.Context, cfg RetryConfig, attempt int, err error) (time.Duration, bool) {
	if attempt >= cfg.MaxAttempts || ctx.Err() != nil || !r.transient(err) {
		return 0, false
	}
	wait := cfg.backoff(attempt+1, r.random())
	if hint, ok := RetryAfterHint(err); ok {
		if hint > cfg.MaxBackoff {
			return 0, false
		}
		wait = max(wait, hint)
	}
	return wait, true
}

// deadLetter pushes the failed message, on a context that the caller's
// cancellation does not reach.
func (r *Retrier) deadLetter(ctx context.Context, id string, to Recipient, m Message, failed *DLQItem, lastErr error) error {
	item := *failed
	item.Sink = r.Name()
	item.At = time.Now()
	item.Recipient = to
	item.Message = m
	item.DeliveryID = id

	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
	defer cancel()
	var itemID string
	var err error
	if s, ok := r.DLQ.(interface {
		Add(context.Context, DLQItem) (string, error)
	}); ok {
		itemID, err = s.Add(pctx, item)
	} else {
		err = r.DLQ.Push(pctx, item)
	}
	if err != nil {
		r.observe(ctx, Event{Kind: EventDeadLetterFailed, Sink: item.Sink, DeliveryID: id, Attempt: item.Attempts, Err: err})
		return &NotDeliveredError{Sink: item.Sink, Attempts: item.Attempts, Err: lastErr, PushErr: err}
	}
	r.observe(ctx, Event{Kind: EventDeadLettered, Sink: item.Sink, DeliveryID: id, Attempt: item.Attempts, Err: lastErr, ItemID: itemID})
	return &DeadLetterError{ID: itemID, Sink: item.Sink, Attempts: item.Attempts, Err: lastErr}
}

func (r *Retrier) transient(err error) bool {
	var te *attemptTimeoutError
	if errors.As(err, &te) {
		return true
	}
	if r.IsTransientFn != nil {
		return r.IsTransientFn(err)
	}
	return IsTransient(err)
}

// observe reports e, marked Async when ctx is one of a Dispatcher's sends.
func (r *Retrier) observe(ctx context.Context, e Event) {
	if r.opts.observer != nil {
		e.Async = dispatched(ctx)
		r.opts.observer(e)
	}
}

func (r *Retrier) random() float64 {
	if r.opts.random != nil {
		return r.opts.random()
	}
	return rand.Float64()
}

// attemptTimeoutError is an attempt cut short by WithAttemptTimeout.
type attemptTimeoutError struct {
	limit time.Duration
	err   error
}

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("attempt timed out after %s: %v", e.limit, e.err)
}
func (e *attemptTimeoutError) Unwrap() error   { return e.err }
func (e *attemptTimeoutError) Timeout() bool   { return true }
func (e *attemptTimeoutError) Transient() bool { return true }

// notAdmittedError is a send that never started: waitCtx ended while it
// waited for its sink's gate.
type notAdmittedError struct{ err error }

func (e *notAdmittedError) Error() string { return e.err.Error() }
func (e *notAdmittedError) Unwrap() error { return e.err }

// NotDeliveredError is returned by Retrier.Send when a message was neither
// delivered nor dead-lettered because the DLQ refused it: the caller still
// holds the only copy. It matches both the delivery error and the DLQ's
// error (such as ErrDLQOverflow) with errors.Is.
type NotDeliveredError struct {
	Sink     string // the sink's name
	Attempts int    // Send calls made
	Err      error  // the sink's last error
	PushErr  error  // the DLQ's error
}

// Error says that the message was lost to the DLQ and why.
func (e *NotDeliveredError) Error() string {
	return fmt.Sprintf("sinks: %s: not delivered after %d attempt(s) (%v) and not dead-lettered: %v",
		e.Sink, e.Attempts, e.Err, e.PushErr)
}

// Unwrap returns both errors.
func (e *NotDeliveredError) Unwrap() []error { return []error{e.Err, e.PushErr} }
