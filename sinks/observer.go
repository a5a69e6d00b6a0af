package sinks

import (
	"context"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	// EventAttempt: a Send call to the wrapped sink is about to start.
	EventAttempt EventKind = iota + 1
	// EventSuccess: the message was delivered (Attempt says on which try).
	EventSuccess
	// EventFailure: an attempt failed. Wait is the pause before the next
	// attempt, or 0 when the Retrier gives up.
	EventFailure
	// EventDeadLettered: the message was parked in the DLQ as ItemID.
	EventDeadLettered
	// EventDeadLetterFailed: the DLQ refused the message (Err): it was
	// neither delivered nor kept, and Send returned an error saying so.
	EventDeadLetterFailed
	// EventReplay: a replay or redrive of ItemID ended; Err is nil when it
	// delivered the message.
	EventReplay
)

var eventKindNames = [...]string{
	EventAttempt:          "attempt",
	EventSuccess:          "success",
	EventFailure:          "failure",
	EventDeadLettered:     "dead_lettered",
	EventDeadLetterFailed: "dead_letter_failed",
	EventReplay:           "replay",
}

// String returns the kind's name, such as "dead_lettered" (a label value
// for metrics).
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "unknown"
}

// Event is what a Retrier reports to its Observer.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Sink is the name of the sink.
	Sink string
	// DeliveryID is the message's identity (see WithDeliveryID).
	DeliveryID string
	// Attempt is the 1-based number of the Send call the event is about;
	// for EventDeadLettered, EventDeadLetterFailed and EventReplay, the
	// number of calls made.
	Attempt int
	// Elapsed is how long the Send call took (EventSuccess, EventFailure).
	Elapsed time.Duration
	// Wait is the pause before the next attempt (EventFailure).
	Wait time.Duration
	// Err is the sink's error (EventFailure, EventDeadLettered, a failed
	// EventReplay) or the DLQ's (EventDeadLetterFailed).
	Err error
	// ItemID is the DLQ item (EventDeadLettered, EventReplay).
	ItemID string
	// Async is true when a Dispatcher reports the event, delivering a
	// queued message in the background; false for a synchronous Send and
	// a replay. So an EventSuccess or EventDeadLettered with Async set is
	// how a message accepted by Dispatcher.Enqueue ended (once each); a
	// DLQ that refuses such a message (EventDeadLetterFailed) leaves it
	// queued, to be parked later.
	Async bool
}

// dispatchKey marks the contexts of a Dispatcher's sends, so that the
// Retrier's events about them say Async.
type dispatchKey struct{}

func withDispatch(ctx context.Context) context.Context {
	return context.WithValue(ctx, dispatchKey{}, true)
}

func dispatched(ctx context.Context) bool {
	v, _ := ctx.Value(dispatchKey{}).(bool)
	return v
}

// Observer receives a Retrier's events, synchronously, on the goroutine
// that calls Send: keep it fast (count, don't block). It lets metrics or
// logs be attached without this package importing a metrics library.
type Observer func(Event)
