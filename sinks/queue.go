package sinks

import (
	"context"
	"encoding/json"
	"time"
)

// Queue is the durable store behind a Dispatcher: it keeps each message
// until its delivery ends, and hands the messages of one sink to the
// Dispatcher when they are due. FileQueue is the embedded implementation;
// a queue shared by several processes implements the same interface.
//
// Implementations must be safe for concurrent use, and must never lose a
// task that Enqueue accepted: a task leaves the queue only when a handler
// returned Done for it. A crash may hand a task out again (at least once),
// never drop it.
type Queue interface {
	// Enqueue stores t. When it returns nil, t survives a crash of the
	// process.
	Enqueue(ctx context.Context, t *Task) error
	// Consume hands the due tasks of sink to handle, at most n at once,
	// until ctx ends; it then waits for the handlers under way and returns
	// ctx's cause. The handler's context ends with Consume's. What handle
	// returns decides each task (see Outcome).
	Consume(ctx context.Context, sink string, n int, handle TaskHandler) error
	// Sinks names the sinks the queue holds tasks for, for a Dispatcher to
	// consume after a restart.
	Sinks() ([]string, error)
	// Pending returns how many tasks the queue holds for sink, those being
	// handled included.
	Pending(sink string) (int64, error)
	// Close releases the queue. Consume calls must have returned.
	Close() error
}

// TaskHandler decides a task handed out by Queue.Consume. It may change t
// (its attempts, history and wait) before it returns OutcomeRetry.
type TaskHandler func(ctx context.Context, t *Task) Outcome

// Outcome is a TaskHandler's verdict on a task.
type Outcome int

const (
	// OutcomeDone: the task's delivery ended (delivered or dead-lettered);
	// the queue forgets it.
	OutcomeDone Outcome = iota
	// OutcomeRetry: the task failed and must be tried again; the queue
	// stores the task as the handler changed it, then hands it out again
	// once t.Wait has passed.
	OutcomeRetry
	// OutcomeKeep: the task was not tried (the Dispatcher is stopping); the
	// queue keeps it as it was and hands it out again later.
	OutcomeKeep
)

// Task is one queued message and what became of it so far. Its JSON form
// is what a Queue stores.
type Task struct {
	// NotBefore is when the task is due, set by a queue that stores a
	// retry (zero for a message not tried yet). It comes first in the JSON
	// form, so that a queue can read it without decoding the message.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Wait is how long after its failure a retried task is due, as the
	// handler decided.
	Wait time.Duration `json:"wait,omitempty"`
	// Sink is the name of the sink the message goes to.
	Sink string `json:"sink"`
	// Recipient is the per-call target as JSON, decoded by the sink's
	// RecipientDecoder (nil for the sink's configured target).
	Recipient json.RawMessage `json:"recipient,omitempty"`
	// Message is what to deliver.
	Message Message `json:"message"`
	// DeliveryID is the message's identity across attempts, replays and
	// restarts (see WithDeliveryID).
	DeliveryID string `json:"delivery_id"`
	// EnqueuedAt is when the message was accepted.
	EnqueuedAt time.Time `json:"enqueued_at"`
	// Attempts counts the Send calls made so far.
	Attempts int `json:"attempts,omitempty"`
	// LastError is the latest failure, as text.
	LastError string `json:"last_error,omitempty"`
	// FirstFailedAt and LastFailedAt bound the failures recorded.
	FirstFailedAt time.Time `json:"first_failed_at,omitzero"`
	LastFailedAt  time.Time `json:"last_failed_at,omitzero"`
	// History lists the most recent failures, oldest first, at most 20 of
	// them.
	History []Attempt `json:"history,omitempty"`
	// DeadLetter says the delivery is over and the message only waits for
	// the DLQ to take it (a DLQ that was down).
	DeadLetter bool `json:"dead_letter,omitempty"`
}

// recordFailure notes a failed attempt at at, with DLQItem's rules.
func (t *Task) recordFailure(at time.Time, err error) {
	it := t.item()
	it.RecordFailure(at, err)
	t.Attempts, t.LastError, t.History = it.Attempts, it.LastError, it.History
	t.FirstFailedAt, t.LastFailedAt = it.FirstFailedAt, it.LastFailedAt
}

// item returns the DLQ item of the task.
func (t *Task) item() DLQItem {
	it := DLQItem{
		Sink: t.Sink, Message: t.Message, Attempts: t.Attempts, LastError: t.LastError,
		FirstFailedAt: t.FirstFailedAt, LastFailedAt: t.LastFailedAt, History: t.History,
		DeliveryID: t.DeliveryID,
	}
	if len(t.Recipient) > 0 {
		it.Recipient = t.Recipient
	}
	return it
}
