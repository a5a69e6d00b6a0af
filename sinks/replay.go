package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// How a replay meets a Retrier
//
// A Registry hands out retry-wrapped sinks, so a replay goes through the
// Retrier like any send: the same retry policy, classifier, Retry-After and
// observer. But a replayed message already has its DLQ item, so the Retrier
// must not push it again: ReplayItem marks the context it sends with, and a
// Retrier that sees the mark (anywhere in the chain of wrappers) makes its
// attempts, reports them back, emits EventReplay and returns the last error
// instead of dead-lettering. ReplayItem then updates the item in place.

// replayRun collects what a Retrier did while serving a replay.
type replayRun struct {
	itemID   string
	sends    int       // Send calls made by a Retrier in the chain
	failures []Attempt // their failures, oldest first (at most maxHistory)
}

type replayKey struct{}

func withReplay(ctx context.Context, run *replayRun) context.Context {
	return context.WithValue(ctx, replayKey{}, run)
}

func replayFrom(ctx context.Context) *replayRun {
	run, _ := ctx.Value(replayKey{}).(*replayRun)
	return run
}

// updateTimeout bounds the item update after a failed replay, which runs
// even when the replay's context was cancelled after the sends.
const updateTimeout = 10 * time.Second

// ReplayItem is the Replay of every Store (backends call it from their
// Replay method): it re-sends item id of st through the sink that lookup
// finds for it, with the item's delivery id (WithDeliveryID), and the
// recipient rebuilt by DecodeRecipient.
//
//   - Success returns nil and keeps the item, as the original API does (the
//     operator, or Redrive, decides what to do with it).
//   - Failure returns a *ReplayError that wraps the sink's, and updates the item
//     in place: Attempts grows by the Send calls made, History and the
//     failure times record them, Replays grows by one. No duplicate is
//     pushed (see the note on Retriers above).
//   - An unknown id returns an error matching ErrNotFound; a sink that is
//     not registered, one matching ErrSinkUnavailable; a recipient the sink
//     cannot decode, one matching ErrInvalidArgument. These leave the item
//     unchanged, as does a replay whose ctx was cancelled.
//   - When st is a Leaser, the replay holds the item's lease (LeaseItem)
//     from before it reads the item until after it updates it. An item
//     that another holder has leased is not sent: the error matches
//     ErrBusy. Pass the context of a LeaseItem to keep the lease across
//     the replay and what follows (a Discard).
func ReplayItem(ctx context.Context, st Store, lookup RegistryLookup, id string) error {
	const op = "Replay"
	if lookup == nil {
		return Errorf(CodeInvalidConfig, op, "no sink registry is attached to the DLQ (see SetRegistryLookup)")
	}
	ctx, release, err := LeaseItem(ensureHolder(ctx, "replay"), st, id)
	if err != nil {
		return err
	}
	defer release()
	it, err := st.Get(ctx, id)
	if err != nil {
		return err
	}
	s, ok := lookup(it.Sink)
	if !ok || s == nil {
		return Errorf(CodeSinkUnavailable, op, "item %s: sink %q is not registered", id, it.Sink)
	}
	to, err := decodeRecipient(s, it.Recipient)
	if err != nil {
		return Errorf(CodeInvalidArgument, op, "item %s: sink %q cannot decode the stored recipient: %w", id, it.Sink, err)
	}
	if it.DeliveryID == "" { // an item stored by the original API: give it an identity now
		it.DeliveryID = NewDeliveryID()
	}
	run := &replayRun{itemID: id}
	sendErr := s.Send(withReplay(WithDeliveryID(ctx, it.DeliveryID), run), to, it.Message)
	if sendErr == nil {
		return nil
	}
	if ctx.Err() != nil {
		return Errorf(CodeSinkUnavailable, op, "item %s: replay interrupted: %w", id, sendErr)
	}

	now := time.Now()
	if run.sends == 0 { // no Retrier in the chain: one Send was made
		it.RecordFailure(now, sendErr)
	} else {
		before := it.Attempts
		for _, f := range run.failures {
			it.RecordFailure(f.At, errors.New(f.Error))
		}
		it.Attempts = before + run.sends
	}
	it.Replays++
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), updateTimeout)
	defer cancel()
	rerr := &ReplayError{ID: id, Sink: it.Sink, Err: sendErr}
	if err := st.Update(uctx, it); err != nil && !errors.Is(err, ErrNotFound) {
		rerr.UpdateErr = err
	}
	return rerr
}

// ReplayError is returned by Replay when the item was sent and its sink
// failed again. It matches ErrSinkUnavailable and unwraps to the sink's
// error (and to UpdateErr, if the item could not be updated).
type ReplayError struct {
	ID        string // the DLQ item
	Sink      string // the item's sink
	Err       error  // the sink's error
	UpdateErr error  // the store's error when updating the item, if any
}

// Error says which item failed and why.
func (e *ReplayError) Error() string {
	s := fmt.Sprintf("sinks: replay of item %s through %q failed: %v", e.ID, e.Sink, e.Err)
	if e.UpdateErr != nil {
		s += fmt.Sprintf(" (and the item could not be updated: %v)", e.UpdateErr)
	}
	return s
}

// Is matches ErrSinkUnavailable.
func (e *ReplayError) Is(target error) bool { return target == ErrSinkUnavailable }

// Unwrap returns the sink's error and the update error.
func (e *ReplayError) Unwrap() []error {
	if e.UpdateErr == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.UpdateErr}
}

// decodeRecipient rebuilds the typed recipient of s from what a store kept:
// JSON goes through DecodeRecipient; a store that keeps Go values hands them
// back as they are.
func decodeRecipient(s Sink, stored Recipient) (Recipient, error) {
	switch v := stored.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return DecodeRecipient(s, v)
	case []byte:
		return DecodeRecipient(s, v)
	}
	return stored, nil
}
