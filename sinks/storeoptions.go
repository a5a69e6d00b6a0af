package sinks

import (
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/dletter/dletter"
)

// OverflowPolicy says what a bounded DLQ does with a new item when it is
// full.
type OverflowPolicy int

const (
	// OverflowReject refuses the new item: Push returns an error matching
	// ErrDLQOverflow, so a Retrier's caller learns that the message was not
	// kept (see NotDeliveredError). Nothing already stored is lost. The
	// default.
	OverflowReject OverflowPolicy = iota
	// OverflowDropOldest makes room by discarding the oldest item, counted
	// in Stats.Dropped.
	OverflowDropOldest
)

// String returns "reject" or "drop-oldest".
func (p OverflowPolicy) String() string {
	switch p {
	case OverflowReject:
		return "reject"
	case OverflowDropOldest:
		return "drop-oldest"
	}
	return "overflow(" + formatID(uint64(p)) + ")"
}

// The default bounds of the embedded stores.
const (
	defaultMemoryMaxItems = 100_000
	defaultFileMaxItems   = 1_000_000
)

// StoreOption configures a DLQ or queue backend when it is made:
// NewMemoryDLQ, OpenFileDLQ, NewRedisDLQ and NewFallbackDLQ, OpenFileQueue,
// NewRedisQueue and NewFallbackQueue. Each option says which backends it
// applies to; the others ignore it.
type StoreOption func(*storeOptions)

// storeOptions holds every backend's settings; each constructor reads its
// own and fills in the defaults of those left unset.
type storeOptions struct {
	// MemoryDLQ, FileDLQ and FileQueue.
	maxItems     int
	overflow     OverflowPolicy
	durability   dletter.Durability
	syncInterval time.Duration
	// Every backend that reports on its own.
	logger *slog.Logger
	// RedisDLQ and RedisQueue.
	keyPrefix    string
	maxLen       int64 // RedisDLQ; preset to the default before the options
	pushTimeout  time.Duration
	consumerName string
	taskLease    time.Duration
	// FallbackDLQ and FallbackQueue.
	moveInterval time.Duration
	aliasTTL     time.Duration
}

// WithMaxItems bounds a MemoryDLQ or FileDLQ to n items; 0 keeps the
// store's default (100,000 items in memory, 1,000,000 in a FileDLQ) and a
// negative n means no bound.
func WithMaxItems(n int) StoreOption { return func(o *storeOptions) { o.maxItems = n } }

// WithOverflow sets what a full MemoryDLQ or FileDLQ does with a new item
// (default OverflowReject).
func WithOverflow(p OverflowPolicy) StoreOption { return func(o *storeOptions) { o.overflow = p } }

// WithDurability sets what a nil error from a FileDLQ write (Push, Update,
// Discard) or a FileQueue Enqueue promises, with the meanings of the
// dletter log's modes: dletter.SurvivesCrash (the default) survives the
// process being killed, dletter.SurvivesPowerLoss survives a power loss
// (fdatasync before returning; concurrent writers share syncs),
// dletter.SyncedPeriodically syncs in the background every
// WithSyncInterval.
func WithDurability(d dletter.Durability) StoreOption {
	return func(o *storeOptions) { o.durability = d }
}

// WithSyncInterval sets the background sync period of
// dletter.SyncedPeriodically for a FileDLQ or FileQueue (default 1s).
func WithSyncInterval(d time.Duration) StoreOption {
	return func(o *storeOptions) { o.syncInterval = d }
}

// WithLogger sets where a backend reports what no caller is waiting for
// (default slog.Default()): a FileDLQ compaction that failed after the
// write that started it had succeeded, a FileQueue replay that stopped,
// a FallbackDLQ's or FallbackQueue's primary going down and coming back,
// and the errors of their movers.
func WithLogger(l *slog.Logger) StoreOption { return func(o *storeOptions) { o.logger = l } }

// WithKeyPrefix sets the Redis namespace of a RedisDLQ or RedisQueue: keys
// start with p + ":". An empty p keeps DefaultRedisKeyPrefix. A prefix with
// a Redis hash tag, such as "{dletter}", puts every key of a RedisDLQ in one
// Cluster slot. A RedisDLQ and a RedisQueue may share a prefix: their keys
// keep apart by the ":dlq:" and ":q:" in them.
func WithKeyPrefix(p string) StoreOption { return func(o *storeOptions) { o.keyPrefix = p } }

// WithMaxLen sets the cap of each sink's stream in a RedisDLQ (XADD MAXLEN
// ~ n: Redis trims whole nodes, so a stream may hold a little more than n;
// default 10,000). n <= 0 disables capping. Items trimmed are counted in
// Stats.Dropped.
func WithMaxLen(n int64) StoreOption { return func(o *storeOptions) { o.maxLen = max(n, 0) } }

// WithPushTimeout bounds each push to a RedisDLQ (Push, Add, AddOnce,
// AddBatch), which runs on a context detached from the caller's
// cancellation (default 10s; d <= 0 keeps it). Behind a FallbackDLQ it is
// what an outage costs the first push, together with the client's dial and
// read timeouts.
func WithPushTimeout(d time.Duration) StoreOption { return func(o *storeOptions) { o.pushTimeout = d } }

// WithConsumerName sets the name a RedisQueue consumes under (default
// "<host>:<pid>"). Two live consumers must never share a name: each would
// take the other's tasks for its own. A fixed name per machine lets a
// restarted process hand out its predecessor's tasks at once rather than
// after the task lease. An empty name keeps the default.
func WithConsumerName(name string) StoreOption {
	return func(o *storeOptions) { o.consumerName = name }
}

// WithTaskLease sets how long a task a RedisQueue handed out stays with its
// consumer without a sign of life (default 30s; d <= 0 keeps it). A live
// consumer renews it every third of d, so d only bounds how soon the tasks
// of a consumer that died go to the others.
func WithTaskLease(d time.Duration) StoreOption { return func(o *storeOptions) { o.taskLease = d } }

// withMoveInterval sets how often the mover of a FallbackDLQ or
// FallbackQueue checks the local store and probes a primary that is down
// (default defaultFallbackMoveInterval).
func withMoveInterval(d time.Duration) StoreOption {
	return func(o *storeOptions) { o.moveInterval = d }
}

// withAliasTTL sets how long the ID an item had in a FallbackDLQ's local
// store keeps naming it after it moved to the primary (default
// defaultFallbackAliasTTL).
func withAliasTTL(d time.Duration) StoreOption { return func(o *storeOptions) { o.aliasTTL = d } }

// buildStoreOptions applies opts over defaults and fills in the defaults
// every backend shares: the logger and the bound of the embedded stores
// (defMax; 0 for a backend without one).
func buildStoreOptions(defaults storeOptions, defMax int, opts []StoreOption) storeOptions {
	o := defaults
	for _, fn := range opts {
		if fn != nil {
			fn(&o)
		}
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	switch {
	case o.maxItems == 0:
		o.maxItems = defMax
	case o.maxItems < 0:
		o.maxItems = 0 // unbounded
	}
	return o
}

// storable returns a copy of it that shares nothing with the caller's, with
// the recipient encoded as JSON, as a Store keeps it.
func storable(op string, it DLQItem) (DLQItem, error) {
	raw, err := recipientJSON(it.Recipient)
	if err != nil {
		return DLQItem{}, Errorf(CodeInvalidArgument, op, "recipient of sink %q cannot be stored as JSON: %w", it.Sink, err)
	}
	it.Recipient = raw
	return cloneItem(it), nil
}

// recipientJSON encodes a recipient; nil stays nil and JSON stays as it is.
func recipientJSON(to Recipient) (json.RawMessage, error) {
	switch v := to.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if v == nil {
			return nil, nil
		}
		if !json.Valid(v) {
			return nil, Errorf(CodeInvalidArgument, "", "invalid JSON")
		}
		return slices.Clone(v), nil
	}
	return json.Marshal(to)
}

// cloneItem copies the item's maps and slices, so the copy shares nothing.
func cloneItem(it DLQItem) DLQItem {
	it.Message.Metadata = maps.Clone(it.Message.Metadata)
	it.History = slices.Clone(it.History)
	if raw, ok := it.Recipient.(json.RawMessage); ok {
		if raw == nil {
			it.Recipient = nil
		} else {
			it.Recipient = slices.Clone(raw)
		}
	}
	return it
}
