package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DLQ is the persistence surface a Retrier uses when retries are exhausted,
// or at once when a terminal error is observed. Implementations must be safe
// for concurrent use.
//
// These five methods are those of the original API. dletter's backends
// implement the larger Store interface, which adds what operators need.
type DLQ interface {
	// Push records item. The implementation assigns item.ID (use Store.Add
	// to learn it).
	Push(ctx context.Context, item DLQItem) error
	// Items returns up to limit items for sink, newest first; sink "" means
	// every sink. A limit of 0 or less means no limit. Within a sink the
	// order is the push order; across sinks, items pushed within the same
	// millisecond may come in either order.
	Items(ctx context.Context, sink string, limit int) ([]DLQItem, error)
	// Count returns the live size of the DLQ for sink ("" = every sink).
	// -1 means "unknown".
	Count(ctx context.Context, sink string) (int, error)
	// Discard removes id. A missing id is not an error. A store that
	// leases its items (Leaser) refuses to discard an item another holder
	// has leased, with an error matching ErrBusy.
	Discard(ctx context.Context, id string) error
	// Replay re-sends id through its registered sink. The item stays in the
	// DLQ: on success the operator decides what to do next; on failure the
	// item is updated (attempts, history, Replays) rather than pushed again
	// as a duplicate. An unknown id returns an error matching ErrNotFound.
	Replay(ctx context.Context, id string) error
}

// Store is the full surface of dletter's DLQ backends (MemoryDLQ, FileDLQ,
// RedisDLQ): the DLQ of the original API plus lookup by id, filtered paging,
// in-place update, statistics and Close. The daemon, the command line and
// Redrive work on a Store.
type Store interface {
	DLQ
	// Add records item like Push and returns the ID it assigned.
	Add(ctx context.Context, item DLQItem) (string, error)
	// Get returns the item with id, or an error matching ErrNotFound.
	Get(ctx context.Context, id string) (DLQItem, error)
	// List returns up to limit items that match f, newest first (in the
	// order of Items), starting after cursor ("" starts at the newest); a
	// limit of 0 or less means no limit. next is the cursor of the
	// following page, "" when there is none. A cursor stays valid when its
	// item is discarded. A malformed cursor is an error matching
	// ErrInvalidArgument.
	List(ctx context.Context, f Filter, cursor string, limit int) (items []DLQItem, next string, err error)
	// Update replaces the stored item that has item.ID, keeping its place in
	// the order. A missing id returns an error matching ErrNotFound.
	Update(ctx context.Context, item DLQItem) error
	// Stats reports sizes and what was lost to caps.
	Stats(ctx context.Context) (Stats, error)
	// SetRegistryLookup wires Replay to the sinks.
	SetRegistryLookup(fn RegistryLookup)
	// Close releases the store's resources. It is idempotent; calls after it
	// return an error matching ErrClosed.
	Close() error
}

// RegistryLookup resolves a sink name back to its Sink for Replay. A Registry's
// Lookup method is one.
type RegistryLookup func(name string) (Sink, bool)

// DLQItem is one failed delivery. The JSON names of the original API are
// kept; the fields after LastError are additions.
//
// Recipient is kept as any because each sink has its own recipient type. A
// Store persists it as JSON and hands it back as a json.RawMessage (nil when
// there was none); Replay rebuilds the typed value with DecodeRecipient.
type DLQItem struct {
	// ID is assigned by the DLQ on Push.
	ID string `json:"id"`
	// Sink is the registered name of the sink that owns this item.
	Sink string `json:"sink"`
	// At is the wall-clock instant the item was dead-lettered.
	At time.Time `json:"at"`
	// Recipient is the sink-specific target, stored as JSON.
	Recipient Recipient `json:"recipient,omitempty"`
	// Message is the payload that failed to deliver.
	Message Message `json:"message"`
	// Attempts is how many Send calls were made, replays included. A
	// terminal failure on the first try records 1.
	Attempts int `json:"attempts"`
	// LastError is the sink's final error as text (never a later context
	// error, and never a secret such as a webhook URL).
	LastError string `json:"last_error"`

	// FirstFailedAt and LastFailedAt bound the failures recorded.
	FirstFailedAt time.Time `json:"first_failed_at,omitzero"`
	LastFailedAt  time.Time `json:"last_failed_at,omitzero"`
	// History lists the most recent attempts, oldest first, at most 20 of
	// them.
	History []Attempt `json:"history,omitempty"`
	// Replays counts operator replays and redrives that failed again.
	Replays int `json:"replays,omitempty"`
	// DeliveryID is the message's identity across retries and replays,
	// handed to sinks through WithDeliveryID so receivers can deduplicate.
	DeliveryID string `json:"delivery_id,omitempty"`
}

// UnmarshalJSON decodes an item, keeping the recipient as the
// json.RawMessage it was stored as (a RecipientDecoder rebuilds its type),
// rather than the map[string]any that encoding/json would make of it.
func (it *DLQItem) UnmarshalJSON(b []byte) error { return decodeItem(b, it) }

// storedItem is DLQItem without its UnmarshalJSON method and with the
// recipient kept as JSON.
type storedItem struct {
	plainItem
	Recipient json.RawMessage `json:"recipient,omitempty"`
}

type plainItem DLQItem

// decodeItem decodes the JSON of an item into it, the recipient as a
// json.RawMessage.
func decodeItem(b []byte, it *DLQItem) error {
	var v storedItem
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*it = DLQItem(v.plainItem)
	it.Recipient = nil
	if len(v.Recipient) > 0 && string(v.Recipient) != "null" {
		it.Recipient = v.Recipient
	}
	return nil
}

// maxHistory bounds DLQItem.History.
const maxHistory = 20

// Attempt is one failed Send.
type Attempt struct {
	At    time.Time `json:"at"`
	Error string    `json:"error"`
}

// RecordFailure appends a failed attempt at at to the item: it bumps
// Attempts, sets LastError and the failure times, and keeps the last 20
// entries of History (dropping the oldest).
func (it *DLQItem) RecordFailure(at time.Time, err error) {
	msg := "<nil>"
	if err != nil {
		msg = err.Error()
	}
	it.Attempts++
	it.LastError = msg
	if it.FirstFailedAt.IsZero() {
		it.FirstFailedAt = at
	}
	it.LastFailedAt = at
	it.History = append(it.History, Attempt{At: at, Error: msg})
	if n := len(it.History); n > maxHistory {
		it.History = append(it.History[:0:0], it.History[n-maxHistory:]...)
	}
}

// Filter selects DLQ items. The zero Filter matches every item.
type Filter struct {
	// Sink keeps the items of one sink; "" keeps all.
	Sink string
	// Since and Until bound At: Since <= At < Until. Zero means unbounded.
	Since, Until time.Time
	// Contains keeps items whose LastError, Message.Subject or Message.Body
	// contains this text, ignoring case.
	Contains string
}

// Match reports whether it passes the filter.
func (f Filter) Match(it *DLQItem) bool {
	if f.Sink != "" && it.Sink != f.Sink {
		return false
	}
	if !f.Since.IsZero() && it.At.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !it.At.Before(f.Until) {
		return false
	}
	if f.Contains != "" {
		return containsFold(it.LastError, f.Contains) ||
			containsFold(it.Message.Subject, f.Contains) ||
			containsFold(it.Message.Body, f.Contains)
	}
	return true
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Stats describes a Store.
type Stats struct {
	// Items is the number of live items; BySink splits it per sink.
	Items  int64            `json:"items"`
	BySink map[string]int64 `json:"by_sink"`
	// Dropped counts items removed by a cap (an overflow policy or a Redis
	// MAXLEN) rather than by an operator: those are lost, and operators
	// must see it.
	Dropped int64 `json:"dropped"`
	// Bytes is the storage used, -1 when unknown.
	Bytes int64 `json:"bytes"`
	// Quarantined counts damaged records a store found and set aside for
	// inspection (FileDLQ keeps them in a side file) instead of serving.
	Quarantined int64 `json:"quarantined,omitempty"`
}

// ErrDeadLettered matches the error a Retrier returns when it parked a
// message in its DLQ instead of delivering it.
var ErrDeadLettered = errors.New("sinks: message dead-lettered")

// DeadLetterError is returned by Retrier.Send when the message was not
// delivered but is safe in the DLQ under ID. It matches ErrDeadLettered and
// unwraps to the sink's last error.
type DeadLetterError struct {
	ID       string // the DLQ item's ID
	Sink     string
	Attempts int
	Err      error // the sink's last error
}

// Error says where the message went and why.
func (e *DeadLetterError) Error() string {
	return fmt.Sprintf("sinks: %s: dead-lettered as %s after %d attempt(s): %v", e.Sink, e.ID, e.Attempts, e.Err)
}

// Is matches ErrDeadLettered.
func (e *DeadLetterError) Is(target error) bool { return target == ErrDeadLettered }

// Unwrap returns the sink's last error.
func (e *DeadLetterError) Unwrap() error { return e.Err }
