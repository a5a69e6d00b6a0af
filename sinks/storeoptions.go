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
	DefaultMemoryMaxItems = 100_000
	DefaultFileMaxItems   = 1_000_000
)

// StoreOption configures NewMemoryDLQ and OpenFileDLQ.
type StoreOption func(*storeOptions)

type storeOptions struct {
	maxItems     int
	overflow     OverflowPolicy
	durability   dletter.Durability
	syncInterval time.Duration
	logger       *slog.Logger
}

// WithMaxItems bounds the store to n items; 0 keeps the store's default
// (DefaultMemoryMaxItems, DefaultFileMaxItems) and a negative n means no
// bound.
func WithMaxItems(n int) StoreOption { return func(o *storeOptions) { o.maxItems = n } }

// WithOverflow sets what a full store does with a new item (default
// OverflowReject).
func WithOverflow(p OverflowPolicy) StoreOption { return func(o *storeOptions) { o.overflow = p } }

// WithDurability sets what a nil error from a FileDLQ write (Push, Update,
// Discard) promises, with the meanings of the dletter log's modes:
// dletter.SurvivesCrash (the default) survives the process being killed,
// dletter.SurvivesPowerLoss survives a power loss (fdatasync before
// returning; concurrent writers share syncs), dletter.SyncedPeriodically
// syncs in the background every WithSyncInterval. MemoryDLQ ignores it.
func WithDurability(d dletter.Durability) StoreOption {
	return func(o *storeOptions) { o.durability = d }
}

// WithSyncInterval sets the background sync period of
// dletter.SyncedPeriodically (default 1s).
func WithSyncInterval(d time.Duration) StoreOption {
	return func(o *storeOptions) { o.syncInterval = d }
}

// WithLogger sets where a store reports what no caller is waiting for,
// such as a FileDLQ compaction that failed after the write that started it
// had succeeded (default slog.Default()).
func WithLogger(l *slog.Logger) StoreOption { return func(o *storeOptions) { o.logger = l } }

func buildStoreOptions(defMax int, opts []StoreOption) storeOptions {
	var o storeOptions
	for _, fn := range opts {
		fn(&o)
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
