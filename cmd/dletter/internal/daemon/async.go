package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/dletter/dletter"
	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// asyncRecord is the payload of one line of the async log: the message and
// what happened to it so far. Each failed attempt re-logs the record with
// its history grown, so the stored line always says how many attempts were
// made, across restarts.
type asyncRecord struct {
	relay.Envelope
	Attempts int             `json:"attempts,omitempty"`
	History  []sinks.Attempt `json:"history,omitempty"`
}

// Async is the async delivery path: Enqueue appends a message to a dletter
// log (durable against SIGKILL when it returns), and a background loop
// replays the log, making one attempt per due item. A failed attempt is
// re-logged with its attempt count (so the log's backoff spaces the next
// one); a terminal failure, or one that spends the sink's max_attempts, is
// pushed to the DLQ. A line is consumed only after its outcome is durable,
// so nothing accepted is lost; a crash can deliver the item in flight twice,
// with the same delivery id, which receivers can deduplicate on.
type Async struct {
	log     *dletter.Logger
	store   sinks.Store
	sinks   func(name string) (sinks.Sink, bool) // unwrapped sinks
	policy  sinks.RetryPolicy
	metrics *metrics.Metrics
	logger  *slog.Logger
	now     func() time.Time

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// asyncDir is the async log's directory inside the data directory.
const asyncDir = "async"

// OpenAsync opens the async log under dataDir.
func OpenAsync(dataDir string, store sinks.Store, raw func(string) (sinks.Sink, bool), policy sinks.RetryPolicy,
	m *metrics.Metrics, logger *slog.Logger) (*Async, error) {
	l, err := dletter.New(filepath.Join(dataDir, asyncDir, "messages.log"), dletter.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("open async log: %w", err)
	}
	return &Async{log: l, store: store, sinks: raw, policy: policy, metrics: m, logger: logger, now: time.Now,
		kick: make(chan struct{}, 1)}, nil
}

// Enqueue appends env to the log. When it returns nil the message survives
// a crash of the process.
func (a *Async) Enqueue(_ context.Context, env relay.Envelope) error {
	if err := dletter.Log(a.log, asyncRecord{Envelope: env}, nil, 0); err != nil {
		return err
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
	return nil
}

// Pending returns the number of messages waiting in the log. It reads the
// log's files, so it is meant for metrics scrapes, not hot paths.
func (a *Async) Pending() (int64, error) {
	st, err := a.log.Stats()
	return st.Pending, err
}

// Start runs the replay loop until Close.
func (a *Async) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.done = make(chan struct{})
	go a.loop(ctx)
}

// idlePoll is how often the loop looks at the log without being kicked
// (items re-logged after a failure become due on their own);
// maxIdleBackoff bounds the pause after replays that failed.
const (
	idlePoll       = time.Second
	maxIdleBackoff = 30 * time.Second
)

func (a *Async) loop(ctx context.Context) {
	defer close(a.done)
	cfg := a.policy.For("").Normalize()
	opts := dletter.ReplayOptions{InitialWait: cfg.BaseBackoff, MaxWait: cfg.MaxBackoff}
	t := time.NewTimer(0)
	defer t.Stop()
	wait := idlePoll
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		case <-t.C:
		}
		// Cheap when there is nothing to do: an empty log is not rotated.
		err := a.log.Replay(ctx, a.handle, opts)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// The DLQ or the disk fails: nothing is lost (the line stays),
			// and the loop backs off instead of spinning.
			wait = min(2*wait, maxIdleBackoff)
			a.logger.Error("async replay stopped; it will resume", "err", err, "retry_in", wait)
		default:
			wait = idlePoll
		}
		t.Reset(wait)
	}
}

// handle makes one attempt at delivering a logged message.
func (a *Async) handle(payload []byte) error {
	var rec asyncRecord
	if err := json.Unmarshal(payload, &rec); err != nil || rec.Sink == "" {
		// Not ours: keep it out of the way, visibly, in the DLQ.
		return a.park(asyncRecord{Envelope: relay.Envelope{Sink: "unknown", Message: sinks.Message{Body: string(payload)}}},
			fmt.Errorf("async log: undecodable record: %v", err))
	}
	sink, ok := a.sinks(rec.Sink)
	if !ok {
		return a.park(rec, fmt.Errorf("sink %q is not configured", rec.Sink))
	}
	ctx := sinks.WithDeliveryID(context.Background(), rec.DeliveryID)
	to, err := relay.DecodeRecipient(sink, rec.Recipient)
	if err == nil {
		start := a.now()
		err = sink.Send(ctx, to, rec.Message)
		a.metrics.Attempt(rec.Sink, a.now().Sub(start), err)
	}
	if err == nil {
		a.metrics.Delivery(rec.Sink, metrics.Delivered)
		return nil
	}
	rec.Attempts++
	rec.History = append(rec.History, sinks.Attempt{At: a.now().UTC(), Error: err.Error()})
	if n := len(rec.History); n > sinks.MaxHistory {
		rec.History = rec.History[n-sinks.MaxHistory:]
	}
	cfg := a.policy.For(rec.Sink).Normalize()
	if !sinks.IsTransient(err) || rec.Attempts >= cfg.MaxAttempts {
		return a.park(rec, err)
	}
	// Re-log with the new count: the log's backoff makes it due later. Only
	// then is the source line consumed.
	return dletter.Log(a.log, rec, err, rec.Attempts)
}

// park dead-letters rec. An error leaves the line in the log (it is
// re-logged and retried), so a DLQ outage loses nothing.
func (a *Async) park(rec asyncRecord, cause error) error {
	it := sinks.DLQItem{
		Sink: rec.Sink, At: a.now().UTC(), Message: rec.Message, Attempts: rec.Attempts,
		LastError: cause.Error(), History: rec.History, DeliveryID: rec.DeliveryID,
	}
	if len(rec.Recipient) > 0 {
		it.Recipient = rec.Recipient
	}
	if len(rec.History) > 0 {
		it.FirstFailedAt, it.LastFailedAt = rec.History[0].At, rec.History[len(rec.History)-1].At
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := a.store.Add(ctx, it)
	if err != nil {
		a.metrics.Delivery(rec.Sink, metrics.Failed)
		return fmt.Errorf("async: dead-letter %s: %w", rec.DeliveryID, err)
	}
	a.metrics.Delivery(rec.Sink, metrics.DeadLettered)
	a.logger.Warn("async message dead-lettered", "sink", rec.Sink, "id", id, "delivery_id", rec.DeliveryID,
		"attempts", rec.Attempts, "err", cause)
	return nil
}

// Close stops the loop (a replay in progress stops at the next item; what
// it has not consumed stays in the log) and closes the log. Idempotent.
func (a *Async) Close() error {
	var err error
	a.once.Do(func() {
		if a.cancel != nil {
			a.cancel()
			<-a.done
		}
		err = a.log.Close()
		if errors.Is(err, dletter.ErrClosed) {
			err = nil
		}
	})
	return err
}
