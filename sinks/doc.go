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
// Streams, for more than one machine). The reference sinks (packages
// sinks/email, sinks/slack, sinks/webhook) pass the sinks' conformance suite
// (package sinks/sinktest), which a sink of your own can run too.
//
// # Glossary
//
// These words mean one thing across the module (package dletter's
// documentation lists the log's words too):
//
//   - dead letter: a message kept because it could not be delivered, so
//     that it is not lost.
//   - DLQ item: a dead letter in a [DLQ] ([DLQItem]): the message, its
//     sink, recipient and attempts.
//   - replay (DLQ): [DLQ].Replay sends one DLQ item again through its sink
//     and keeps it in the DLQ; [ReplayItem] is that Replay for every store.
//   - redeliver: the dletter daemon's replay (dletter dlq replay): a DLQ
//     replay that then removes the delivered item, unless asked to keep it.
//   - redrive: redelivering every DLQ item that matches a filter, at a
//     pace ([Redrive]).
//   - queue: where a [Dispatcher]'s messages wait for their first delivery
//     ([Queue]); not the DLQ.
//   - sink: what delivers a message ([Sink]).
//   - delivery id: a message's identity across retries, replays and
//     redrives, which its receiver can deduplicate on ([WithDeliveryID]).
//   - payload: what a message carries; the JSON body the webhook sink
//     POSTs is a sinks/webhook.Payload.
//
// # Wiring
//
// A Registry built with a retry policy and a DLQ wraps every sink it is
// given, at start-up or later, in a Retrier (once, however many wrappers a
// sink already has), and connects the DLQ's Replay to its sinks:
//
//	dlq, err := sinks.OpenFileDLQ("/var/lib/dletter/dlq")
//	...
//	reg := sinks.NewRegistry(sinks.WithRetryPolicy(policy), sinks.WithDLQ(dlq))
//	_ = reg.Register(mySink)
//	err = reg.Send(sinks.WithDeliveryID(ctx, orderID), "orders", to, msg)
//	// nil: delivered; errors.Is(err, sinks.ErrDeadLettered): safe in the DLQ;
//	// anything else: neither, the caller still holds the only copy.
//
// # Replay, Redrive and the Retrier
//
// Replay and Redrive send a stored item through its registered sink (the
// Retrier around it included) with the item's delivery id, so the receiver
// can deduplicate. A Retrier that serves a replay retries as usual but never
// dead-letters the message again: the replay updates the stored item
// (attempts, history, Replays) instead, so a failed redrive leaves exactly
// the items it started with. See ReplayItem.
//
// Every backend is a Leaser: a replay, a redrive and a discard take a lease
// on the item first (in Redis for a RedisDLQ, so processes sharing it see
// it), and while one holds it the others get an error matching ErrBusy that
// names the holder; a redrive skips such items and counts them as Busy.
// LeaseItem holds an item across several steps, such as a replay and the
// discard after it. See Leaser.
//
// # Names for applications
//
// To deliver: [Registry] ([NewRegistry] with [WithRetryPolicy],
// [WithDeliveryPolicy], [WithDLQ] and [WithRetrierOptions]), [Retrier]
// ([NewRetrier], [WithAttemptTimeout], [WithObserver] for each [Event],
// [WithRandom]), [Dispatcher] for delivery in the background, the
// configuration sections ([RetryPolicy], [DeliveryPolicy], [BuildSink],
// [SecretValues]) and [WithDeliveryID]. Send's outcomes: nil,
// [ErrDeadLettered] ([DeadLetterError]), or neither ([NotDeliveredError]).
//
// To keep and work the dead letters: the backends [MemoryDLQ], [FileDLQ],
// [RedisDLQ] and [FallbackDLQ], the queues [FileQueue], [RedisQueue] and
// [FallbackQueue], each configured by [StoreOption] values
// ([WithKeyPrefix], [WithMaxItems], [WithDurability], [WithLogger], ...); on any [Store]:
// [Filter], [ListPreviews], [Redrive], [LeaseItem] and [WithLeaseHolder].
//
// # Names for sink authors
//
// A sink implements [Sink], takes a [Message] and its own [Recipient] type,
// and may implement [RecipientDecoder] (so that a replay rebuilds the
// recipient) and [ConcurrencyAware]. Its errors say whether a retry may
// help: [Transient], [Terminal], [StatusError], [RetryAfterer] (with
// [ParseRetryAfter]), and [Errorf] for a coded [Error]. [DeliveryID] is the
// idempotency key to hand to the far end. A kind that is configured from a
// file registers a [Factory] with [RegisterFactory] and reads its block
// with [DecodeConfig], [ResolveSecret] and [Duration], reporting a
// [ConfigError]. Package sinks/sinktest is the conformance suite to run.
//
// # Names for backend authors
//
// A DLQ backend implements [Store] (the [DLQ] of the original API and
// more), whose Replay calls [ReplayItem]; to take part in leases it is a
// [Leaser] (reading the holder with [LeaseHolderOf]), to list previews
// cheaply a [PreviewLister], and to be a FallbackDLQ's primary a
// [OnceStore] (and an [AliasStore]). A queue implements [Queue] ([Task],
// [TaskHandler], [Outcome]); to be a FallbackQueue's primary a
// [OnceQueue], and to pace a sink across processes [SharedRateLimits]
// ([RateLimiter]). Packages sinks/dlqtest and sinks/queuetest are the
// conformance suites to run.
//
// # Differences from the original API
//
// The package keeps the names and semantics of the API it replaces, and
// says in each doc comment where it deliberately differs: errors are
// classified on structured facts, not message text; Send tells "delivered"
// from "dead-lettered" from "lost"; the DLQ push survives the caller's
// cancellation; MemoryDLQ is bounded; a failed replay updates its item
// instead of piling up duplicates.
package sinks
