// Package relay is what the daemon does, independent of how it is asked:
// send a message through a sink (at once, or durably through the async
// queue), and the operator's actions on the DLQ (look, redeliver, discard,
// redrive), each one audited and counted. The HTTP API, the web console and
// the command line call the same methods.
package relay

import (
	"context"
	"errors"
	"log/slog"
	"sort"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
	"github.com/dletter/dletter/sinks"
)

// Errors of the relay, matched with errors.Is. DLQ errors keep the sinks
// package's sentinels (sinks.ErrNotFound, sinks.ErrInvalidArgument).
var (
	// ErrReadOnly is returned by every action that would change the DLQ or
	// send a message while the relay is read-only.
	ErrReadOnly = errors.New("relay: read-only mode")
	// ErrUnknownSink is returned when no sink has the requested name.
	ErrUnknownSink = errors.New("relay: no such sink")
	// ErrAsyncUnavailable is returned for async sends when the daemon has no
	// async log.
	ErrAsyncUnavailable = errors.New("relay: async delivery is not available")
)

// Sinks resolves the configured sinks.
type Sinks interface {
	// Lookup returns the sink registered as name, wrapped by its Retrier.
	Lookup(name string) (sinks.Sink, bool)
	// Names returns the registered names, sorted.
	Names() []string
}

// Queue is the async delivery path (a *sinks.Dispatcher): Enqueue stores
// a message durably, under ctx's delivery id, and returns; background
// workers deliver it later.
type Queue interface {
	Enqueue(ctx context.Context, sink string, to sinks.Recipient, m sinks.Message) (string, error)
}

// Options configure a Relay.
type Options struct {
	Store    sinks.Store // required
	Sinks    Sinks       // required
	Queue    Queue       // nil: async sends fail with ErrAsyncUnavailable
	Audit    *audit.Log  // nil: no audit trail
	Metrics  *metrics.Metrics
	ReadOnly bool
	Logger   *slog.Logger
	// States reports each sink's delivery state (a *sinks.Dispatcher's
	// States); nil where there is no delivery engine (the commands' local
	// DLQ access), and then Overview has none.
	States func() []sinks.SinkState
	// Kinds maps each configured sink to its kind ("webhook", ...).
	Kinds map[string]string
	// Redrives configure where redrives are kept (WithSharedRedrives:
	// shared with the other daemons on a Redis, which resume the redrives
	// of a daemon that stopped); by default in memory.
	Redrives []RedriveOption
}

// Relay carries out the daemon's work. It is safe for concurrent use.
type Relay struct {
	opts Options
	log  *slog.Logger
	jobs *jobManager
	open openActions // audited actions begun and not yet ended here
}

// New returns a Relay. Close stops its background redrives.
func New(opts Options) *Relay {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{opts: opts, log: log}
	jopts := append([]RedriveOption{withRunner(redriveKind, r.redriveRunner)}, opts.Redrives...)
	r.jobs = newJobManager(100, r.redriveFinished, jopts...)
	return r
}

// Close cancels running redrives and waits for them. It is idempotent.
func (r *Relay) Close() { r.jobs.Close() }

// ReadOnly reports whether the relay refuses changes.
func (r *Relay) ReadOnly() bool { return r.opts.ReadOnly }

// Store returns the DLQ.
func (r *Relay) Store() sinks.Store { return r.opts.Store }

// SinkNames returns the configured sink names, sorted.
func (r *Relay) SinkNames() []string { return r.opts.Sinks.Names() }

// Actor says who asks for an action, for the audit log.
type Actor struct {
	Name   string // a name the client gave; never a token
	Via    string // "api", "console" or "cli"
	Remote string // the client's address
}

// name is who the actor is in records: its name, or "anonymous".
func (a Actor) name() string {
	if a.Name == "" {
		return "anonymous"
	}
	return a.Name
}

// describe names an action of the actor for others that find the item
// busy, such as "replay by alice via api".
func (a Actor) describe(action string) string {
	s := action + " by " + a.name()
	if a.Via != "" {
		s += " via " + a.Via
	}
	return s
}

// RecentActions returns up to n of the latest audited actions, newest
// first (see audit.Log.Recent).
func (r *Relay) RecentActions(n int) ([]audit.Entry, error) {
	return r.opts.Audit.Recent(n)
}

// SinkCount is a sink, the number of its items in the DLQ and, in a
// running daemon, its delivery state.
type SinkCount struct {
	Sink       string `json:"sink"`
	Kind       string `json:"kind,omitempty"`
	Count      int64  `json:"count"`
	Configured bool   `json:"configured"`
	// SinkDelivery is nil where there is no delivery engine.
	*SinkDelivery
}

// Overview returns the DLQ's statistics and one row per sink: every
// configured sink, and every sink that has items in the DLQ or messages in
// the async queue even if it is no longer configured.
func (r *Relay) Overview(ctx context.Context) (sinks.Stats, []SinkCount, error) {
	st, err := r.opts.Store.Stats(ctx)
	if err != nil {
		return st, nil, err
	}
	byName := make(map[string]*SinkCount)
	row := func(name string) *SinkCount {
		if c, ok := byName[name]; ok {
			return c
		}
		c := &SinkCount{Sink: name, Kind: r.opts.Kinds[name], Count: st.BySink[name]}
		byName[name] = c
		return c
	}
	for _, name := range r.opts.Sinks.Names() {
		row(name).Configured = true
	}
	for name := range st.BySink {
		row(name)
	}
	if r.opts.States != nil {
		for _, s := range r.opts.States() {
			row(s.Sink).SinkDelivery = deliveryOf(s)
		}
	}
	rows := make([]SinkCount, 0, len(byName))
	for _, c := range byName {
		rows = append(rows, *c)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Sink < rows[j].Sink })
	return st, rows, nil
}

// List pages through the DLQ with whole items (to export them); see
// sinks.Store.List. Listings for people use ListPreviews.
func (r *Relay) List(ctx context.Context, f sinks.Filter, cursor string, limit int) ([]sinks.DLQItem, string, error) {
	items, next, err := r.opts.Store.List(ctx, f, cursor, limit)
	return items, next, cursorError(err, cursor)
}

// ListPreviews pages through the DLQ for people: each body cut to a
// preview of sinks.DefaultPreviewBytes, and a page that ends early, with a
// next cursor, once it holds about sinks.DefaultPageBytes; see
// sinks.ListPreviews.
func (r *Relay) ListPreviews(ctx context.Context, f sinks.Filter, cursor string, limit int) ([]sinks.ItemPreview, string, error) {
	items, next, err := sinks.ListPreviews(ctx, r.opts.Store, f, cursor, limit, sinks.PreviewOptions{})
	return items, next, cursorError(err, cursor)
}

// cursorError names the cursor when the store refused it.
func cursorError(err error, cursor string) error {
	if err != nil && cursor != "" && errors.Is(err, sinks.ErrInvalidArgument) {
		return &FieldError{Field: "cursor", Value: cursor, Reason: "is not a next_cursor handed out by a previous page"}
	}
	return err
}

// Get returns one item.
func (r *Relay) Get(ctx context.Context, id string) (sinks.DLQItem, error) {
	return r.opts.Store.Get(ctx, id)
}

// Count returns the number of items of sink ("" = all).
func (r *Relay) Count(ctx context.Context, sink string) (int, error) {
	return r.opts.Store.Count(ctx, sink)
}
