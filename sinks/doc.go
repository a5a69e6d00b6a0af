// Package sinks delivers messages through pluggable sinks (email, Slack,
// webhook, or your own) and makes sure a message that cannot be delivered is
// kept, not lost.
//
// A [Sink] delivers one [Message] to one [Recipient]. A [Retrier] wraps a
// Sink: it retries transient failures with capped exponential backoff and,
// when the budget is spent or the failure is terminal, parks the message in
// a [DLQ] (dead-letter queue), from which an operator can look at it, replay
// it, redrive a selection of items, or discard it.
//
// Three DLQ backends ship with dletter and pass the same conformance suite
// (package sinks/dlqtest): [MemoryDLQ] (bounded, in process), [FileDLQ]
// (persistent, embedded; the daemon's default) and [RedisDLQ] (Redis
// Streams, for more than one machine).
//
// The package keeps the names and semantics of the API it replaces, and
// says in each doc comment where it deliberately differs.
package sinks
