package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Dispatcher is the asynchronous delivery engine: Enqueue returns once a
// message is durable in the Queue, and background workers deliver it.
//
// Each sink is delivered on its own, so that a slow or failing sink never
// holds up another: its sends respect the sink's DeliveryConfig (in-flight
// cap, rate limit, circuit breaker) from the Registry's WithDeliveryPolicy,
// shared with the synchronous Retrier of the same sink. On a queue that
// several processes share (SharedRateLimits), the rate of the Dispatchers'
// sends holds across all of them. Retrying is the Retrier's own: the same
// classifier, backoff (every RetryConfig field of the sink, and a server's
// Retry-After), history, Observer events and
// dead-lettering, one attempt per turn, so that a message waiting for its
// next attempt holds no worker. While a sink's circuit is open its messages
// wait without spending attempts. A message that spends its attempts, or
// fails terminally, lands in the DLQ with its full history and delivery id,
// exactly as a synchronous send would; if the DLQ refuses it, it stays
// queued and the push is tried again later. Nothing accepted is dropped.
//
// Messages queued for a sink that is not registered (left by an earlier
// configuration) are dead-lettered with an error saying so.
type Dispatcher struct {
	reg   *Registry
	queue Queue
	log   *slog.Logger

	mu        sync.RWMutex
	started   bool
	closed    bool
	consuming map[string]bool

	runCtx    context.Context // consumers; ends when Close begins
	stopRun   context.CancelFunc
	sendCtx   context.Context // sends; ends at Close's deadline
	stopSends context.CancelFunc
	wg        sync.WaitGroup
}

// DispatcherOption configures NewDispatcher.
type DispatcherOption func(*Dispatcher)

// WithDispatcherLogger sets where the Dispatcher reports trouble that no
// caller sees, such as a queue that cannot be read (default
// slog.Default()).
func WithDispatcherLogger(l *slog.Logger) DispatcherOption {
	return func(d *Dispatcher) { d.log = l }
}

// NewDispatcher returns a Dispatcher that delivers through the sinks of reg
// and keeps messages in q. The registry must be built WithDeliveryPolicy and
// WithDLQ. Start starts the workers; Close stops them. The Dispatcher does
// not close q.
func NewDispatcher(reg *Registry, q Queue, opts ...DispatcherOption) (*Dispatcher, error) {
	const op = "NewDispatcher"
	switch {
	case reg == nil:
		return nil, Errorf(CodeInvalidArgument, op, "nil registry")
	case q == nil:
		return nil, Errorf(CodeInvalidArgument, op, "nil queue")
	case reg.delivery == nil:
		return nil, Errorf(CodeInvalidArgument, op, "the registry needs WithDeliveryPolicy (DeliveryPolicy{} for the defaults)")
	case reg.dlq == nil:
		return nil, Errorf(CodeInvalidArgument, op, "the registry needs WithDLQ: a message that cannot be delivered must have somewhere to go")
	}
	d := &Dispatcher{reg: reg, queue: q, log: slog.Default(), consuming: make(map[string]bool)}
	for _, o := range opts {
		o(d)
	}
	d.runCtx, d.stopRun = context.WithCancel(context.Background())
	d.sendCtx, d.stopSends = context.WithCancel(withDispatch(context.Background()))
	return d, nil
}

// Start starts a worker for every registered sink and for every sink the
// queue holds messages for (what an earlier run left). A sink registered
// later gets its worker at its first Enqueue.
func (d *Dispatcher) Start() error {
	names, err := d.queue.Sinks()
	if err != nil {
		return fmt.Errorf("sinks: dispatcher: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return Errorf(CodeClosed, "Dispatcher.Start", "dispatcher is closed")
	}
	d.started = true
	for _, name := range append(d.reg.Names(), names...) {
		d.consumeLocked(name)
	}
	return nil
}

// Enqueue stores a message for the sink called sink, to be delivered in the
// background, and returns its delivery id (ctx's, see WithDeliveryID, or a
// new one). When it returns nil the message is as durable as the queue
// makes it. An unknown sink is an error matching ErrNotFound; after Close,
// ErrClosed.
func (d *Dispatcher) Enqueue(ctx context.Context, sink string, to Recipient, m Message) (string, error) {
	const op = "Dispatcher.Enqueue"
	if _, ok := d.retrier(sink); !ok {
		return "", Errorf(CodeNotFound, op, "no sink called %q", sink)
	}
	raw, err := encodeRecipient(to)
	if err != nil {
		return "", Errorf(CodeInvalidArgument, op, "encode the recipient: %v", err)
	}
	t := &Task{Sink: sink, Recipient: raw, Message: m, DeliveryID: DeliveryID(ctx), EnqueuedAt: time.Now().UTC()}
	if t.DeliveryID == "" {
		t.DeliveryID = NewDeliveryID()
	}
	if err := d.enqueue(ctx, t); err != nil {
		return "", err
	}
	return t.DeliveryID, nil
}

// enqueue writes t unless the dispatcher is closed, holding the read lock
// across the write so that Close waits for it; then it makes sure t's sink
// has a worker.
func (d *Dispatcher) enqueue(ctx context.Context, t *Task) error {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return Errorf(CodeClosed, "Dispatcher.Enqueue", "dispatcher is closed")
	}
	err := d.queue.Enqueue(ctx, t)
	start := err == nil && d.started && !d.consuming[t.Sink]
	d.mu.RUnlock()
	if start {
		d.mu.Lock()
		if !d.closed {
			d.consumeLocked(t.Sink)
		}
		d.mu.Unlock()
	}
	return err
}

// encodeRecipient returns the JSON of to; json.RawMessage and []byte are
// taken as JSON already.
func encodeRecipient(to Recipient) (json.RawMessage, error) {
	switch v := to.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return v, nil
	case []byte:
		return v, nil
	}
	return json.Marshal(to)
}

// consumeLocked starts the worker of sink unless it runs. d.mu is held.
func (d *Dispatcher) consumeLocked(sink string) {
	if d.consuming[sink] {
		return
	}
	d.consuming[sink] = true
	n := DefaultConcurrency
	adm := admission{waitCircuit: true}
	if r, ok := d.retrier(sink); ok && r.opts.gate != nil {
		cfg := r.opts.gate.cfg
		n = cfg.Concurrency
		if s, ok := d.queue.(SharedRateLimits); ok && cfg.Rate > 0 {
			if lim := s.Limiter(sink, cfg.Rate, cfg.Burst); lim != nil {
				adm.rate = loggedLimiter{lim, d.log, sink, &logThrottle{every: troubleLogEvery}}
			}
		}
	}
	refused := &logThrottle{every: troubleLogEvery}
	handle := func(ctx context.Context, t *Task) Outcome { return d.handle(ctx, t, adm, refused) }
	d.wg.Go(func() {
		wait := time.Second
		for {
			err := d.queue.Consume(d.runCtx, sink, n, handle)
			if d.runCtx.Err() != nil {
				return
			}
			d.log.Error("sinks: dispatcher: cannot read the queue; retrying", "sink", sink, "err", err, "retry_in", wait)
			select {
			case <-d.runCtx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, idleRetry)
		}
	})
}

// loggedLimiter reports the failures of a shared rate limiter, after which
// the gate paces the send by the process's own limiter: once per
// troubleLogEvery while they go on, with how many sends they struck.
type loggedLimiter struct {
	RateLimiter
	log   *slog.Logger
	sink  string
	every *logThrottle
}

func (l loggedLimiter) Reserve(ctx context.Context) (time.Duration, error) {
	d, err := l.RateLimiter.Reserve(ctx)
	if err != nil && ctx.Err() == nil {
		if ok, held := l.every.allow(); ok {
			l.log.Warn("sinks: dispatcher: the shared rate limit failed; sends are paced by the process's own limiter",
				"sink", l.sink, "err", err, "failures_not_logged", held)
		}
	}
	return d, err
}

// handle makes one attempt at t, admitted by its sink's gate as adm says,
// and says what the queue does with it.
func (d *Dispatcher) handle(ctx context.Context, t *Task, adm admission, refused *logThrottle) Outcome {
	r, ok := d.retrier(t.Sink)
	if !ok {
		r = NewRetrier(unconfiguredSink(t.Sink), d.reg.policy.For(t.Sink), d.reg.dlq, d.reg.retrOpts...)
	}
	if t.DeadLetter {
		return d.park(r, t, errors.New(t.LastError), refused)
	}
	if d.sendCtx.Err() != nil {
		return OutcomeKeep
	}
	to, err := DecodeRecipient(r, t.Recipient)
	if err != nil {
		err = Terminal(fmt.Errorf("decode the recipient: %w", err))
		t.recordFailure(time.Now(), err)
		return d.park(r, t, err, refused)
	}
	attempt := t.Attempts + 1
	sendCtx := WithDeliveryID(d.sendCtx, t.DeliveryID)
	elapsed, err := r.tryOnce(ctx, sendCtx, t.DeliveryID, attempt, to, t.Message, adm)
	var na *notAdmittedError
	switch {
	case err == nil:
		return OutcomeDone
	case errors.As(err, &na), d.sendCtx.Err() != nil:
		return OutcomeKeep // not sent, or cut short by the shutdown: not the message's fault
	}
	t.recordFailure(time.Now(), err)
	wait, retry := r.next(sendCtx, r.Cfg.Normalize(), attempt, err)
	r.observe(sendCtx, Event{Kind: EventFailure, Sink: t.Sink, DeliveryID: t.DeliveryID, Attempt: attempt, Elapsed: elapsed, Wait: wait, Err: err})
	if retry {
		t.Wait = wait
		return OutcomeRetry
	}
	return d.park(r, t, err, refused)
}

// park dead-letters t. A DLQ that refuses it leaves t queued, marked so
// that its next turn only tries the DLQ again; the refusals of t's sink
// are logged once per troubleLogEvery (refused), with how many there were.
func (d *Dispatcher) park(r *Retrier, t *Task, lastErr error, refused *logThrottle) Outcome {
	failed := t.item()
	var to Recipient
	if len(t.Recipient) > 0 {
		to = t.Recipient
	}
	err := r.deadLetter(d.sendCtx, t.DeliveryID, to, t.Message, &failed, lastErr)
	var nd *NotDeliveredError
	if !errors.As(err, &nd) {
		return OutcomeDone
	}
	if ok, held := refused.allow(); ok {
		d.log.Error("sinks: dispatcher: the DLQ refused a message; it stays queued and is tried again",
			"sink", t.Sink, "delivery_id", t.DeliveryID, "err", nd.PushErr, "refusals_not_logged", held)
	}
	t.DeadLetter = true
	t.Wait = r.Cfg.Normalize().MaxBackoff
	return OutcomeRetry
}

// retrier returns the Retrier of the registered sink called name.
func (d *Dispatcher) retrier(name string) (*Retrier, bool) {
	s, ok := d.reg.Lookup(name)
	if !ok {
		return nil, false
	}
	return findCapability[*Retrier](s)
}

// State reports the state of the sink called name; ok is false for a sink
// that is neither registered nor queued.
func (d *Dispatcher) State(name string) (SinkState, bool) {
	var st SinkState
	r, ok := d.retrier(name)
	switch {
	case ok && r.opts.gate != nil:
		st = r.opts.gate.state()
	default:
		d.mu.RLock()
		queued := d.consuming[name]
		d.mu.RUnlock()
		if !ok && !queued {
			return SinkState{}, false
		}
		st = SinkState{Sink: name, Limits: DeliveryConfig{}.Normalize()}
	}
	st.Queued = -1
	if n, err := d.queue.Pending(name); err == nil {
		st.Queued = n
	}
	return st, true
}

// States reports every registered or queued sink, sorted by name.
func (d *Dispatcher) States() []SinkState {
	names := d.reg.Names()
	d.mu.RLock()
	for name := range d.consuming {
		if _, ok := d.reg.Lookup(name); !ok {
			names = append(names, name)
		}
	}
	d.mu.RUnlock()
	sort.Strings(names)
	out := make([]SinkState, 0, len(names))
	for _, name := range names {
		if st, ok := d.State(name); ok {
			out = append(out, st)
		}
	}
	return out
}

// Close stops intake at once (Enqueue returns ErrClosed), starts no new
// send, and lets the sends in flight finish until ctx ends; then it
// cancels them. Whatever did not finish stays in the queue, to be delivered
// after a restart: nothing accepted is lost. It returns ctx's error when it
// had to cancel sends, and waits for every worker in any case. It is
// idempotent.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	already := d.closed
	d.closed = true
	d.mu.Unlock()
	if already {
		return nil
	}
	d.stopRun()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.stopSends()
		return nil
	case <-ctx.Done():
	}
	d.stopSends()
	<-done
	return fmt.Errorf("sinks: dispatcher: sends in flight were cancelled at the shutdown deadline (they stay queued): %w", context.Cause(ctx))
}

// unconfiguredSink stands for a sink that has queued messages but is not
// registered: its Send fails terminally, so they are dead-lettered.
type unconfiguredSink string

func (s unconfiguredSink) Name() string { return string(s) }

func (s unconfiguredSink) Send(context.Context, Recipient, Message) error {
	return Terminal(fmt.Errorf("sink %q is not configured", string(s)))
}
