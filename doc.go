// Package dletter implements a persistent dead-letter log for Go
// applications: a failed item is written to disk at once and replayed later
// with exponential backoff, and nothing Log accepted is lost, whatever
// happens to the process.
//
// When a service fails to process an item (a database timeout, an external
// API that is down), the item would normally be lost. dletter writes it to a
// JSONL file immediately and Replay hands it back to a handler later, moving
// it to a permanent-failure log once its retry budget is spent.
//
// # Glossary
//
// The module (this package, package sinks and the dletter command) gives
// each of these words one meaning:
//
//   - item: one failed value a Logger keeps, a line of its retry or
//     permanent-failure log.
//   - Envelope: that line's JSON (ts, attempt, reason, id, payload).
//   - payload: what an item or message carries: an Envelope's payload
//     (RawPayload); the JSON body the webhook sink POSTs is a
//     sinks/webhook.Payload.
//   - dead letter: a message or item kept because it could not be
//     delivered or processed, so that it is not lost.
//   - replay (log): Logger.Replay consumes the retry log, handing each due
//     item to a handler once and logging again the ones that fail.
//   - DLQ item: a dead letter in a dead-letter queue of package sinks
//     (sinks.DLQItem): the message, its sink, recipient and attempts.
//   - replay (DLQ): sinks.DLQ.Replay sends one DLQ item again through its
//     sink and keeps it in the DLQ.
//   - redeliver: the daemon's replay (dletter dlq replay, POST
//     /v1/dlq/items/{id}/replay): a DLQ replay that then removes the
//     delivered item, unless asked to keep it.
//   - redrive: redelivering every DLQ item that matches a filter, at a
//     pace (sinks.Redrive, dletter dlq redrive).
//   - queue: where the daemon's async messages wait for their first
//     delivery (sinks.Queue); not the DLQ.
//   - sink: what delivers a message (email, Slack, a webhook, your own).
//   - delivery id: a message's identity across retries, replays and
//     redrives, which its receiver can deduplicate on.
//
// # Files
//
// Each item is one JSON object on one line:
//
//	{"ts":1700000000,"attempt":1,"reason":"db timeout","id":"9f86d081884c7d65","payload":{"id":"ord-42"}}
//
// where ts is the unix time in seconds of the latest failure, attempt how many
// failures so far, id a 64-bit identifier kept across re-logs (for consumers
// that deduplicate) and payload the item's JSON. A re-logged line also carries
// "first", the time of the first failure.
//
// A Logger for "logs/orders.log" manages, in "logs/":
//
//   - orders.log: the retry log.
//   - orders-2006-01-02T15-04-05.000.log[.gz]: rotated retry files (UTC
//     time, creation order), consumed and deleted by Replay, each with a
//     "-state" file holding its replay position while it is being consumed.
//     Replay also writes the items that are not due yet to such a file, so
//     that they wait there instead of in front of the due ones.
//   - permanent-orders.log and its rotated files: items that exhausted their
//     retries or were logged with LogPermanent.
//   - quarantine-orders.log: lines Replay could not decode and torn tails
//     repaired at open, verbatim, never silently dropped.
//   - orders.log.lock: held while a Logger has the log open, so that two
//     processes never write or replay the same log.
//
// The format is that of go-dletter v0.2.0, whose files, backups and
// "-state" files this package reads and replays unchanged.
//
// # Durability
//
// What a nil error from Log promises depends on WithDurability:
// SurvivesCrash (the default) means the line was written with write(2) and
// survives the process being killed; SurvivesPowerLoss means it was also
// fdatasync'd, with concurrent callers sharing one sync (group commit);
// SyncedPeriodically syncs in the background every WithSyncInterval. A Log
// that fails leaves no part of its line in the file.
//
// # Quick start
//
//	type Order struct{ ID string }
//
//	func (o *Order) AppendLog(buf []byte) []byte {
//		buf = append(buf, `{"id":`...)
//		buf = dletter.AppendJSONString(buf, o.ID)
//		return append(buf, '}')
//	}
//
//	dlq, err := dletter.New("logs/orders.log",
//		dletter.WithMaxSize(50), // rotate at 50 MB
//		dletter.WithCompress(true),
//	)
//	if err != nil { ... }
//	defer dlq.Close()
//
//	// Record a failure
//	err = dletter.Log(dlq, &Order{ID: "ord-42"}, processingErr, attemptNumber)
//
//	// Replay later (e.g. in a background goroutine)
//	err = dlq.Replay(ctx, func(payload []byte) error {
//		return processOrder(payload)
//	}, dletter.ReplayOptions{MaxAttempts: 5, InitialWait: time.Second})
//
// # Where this differs from go-dletter
//
// go-dletter's retention deleted rotated files by count and age whether or
// not they had been replayed; here WithMaxBackups and WithMaxAge apply only
// with WithLossyRetention(true), which counts and reports every item dropped.
// Its Replay slept the full backoff before every item, however old; here an
// item is due at its last failure time plus the backoff, due items are
// delivered at once, and items not yet due are set aside and waited for in
// the order they become due, never in front of a due item. Its replay order followed modification times and
// two rotations in one millisecond overwrote each other; here backups are
// named and consumed in creation order. Its replay position skipped bad
// lines and permanent moves, checkpointed with a write(2) per item, and
// counted a line consumed even when its re-log had failed; here every
// consumed line is counted in a memory-mapped page, after its outcome is
// written. Its scanner stopped
// at lines over 64 KiB; here lines have no length limit. It also compressed
// backups while Replay read them and moved reasons to the permanent log as
// quoted JSON; neither happens here.
//
// # Inspection
//
// Items, Count and Stats let an operator look at both logs without
// consuming anything. Count and Stats read no file's content (New counts the
// items once, and the Logger keeps the counts up to date), so a daemon may
// call them at every metrics scrape; Items reads the files.
//
// # Testing code that uses a Logger
//
// A Logger takes its time from time.Now and waits with the time package's
// timers, so it has no clock option: a test opens it inside a
// testing/synctest bubble, where a time.Sleep makes logged items due without
// waiting and Replay's waits pass in the bubble's fake time.
package dletter
