// Package sinktest is the conformance suite of sinks.Sink, the twin of
// sinks/dlqtest: every sink (the reference email, Slack and webhook sinks,
// or your own) runs it from a test. The suite owns the far end: for each
// check it starts a Receiver on 127.0.0.1, tells it how to answer, and asks
// newSink for a sink aimed at the receiver's Target.
//
// An HTTP sink needs nothing more than its URL:
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T, target sinktest.Target) sinks.Sink {
//			s, err := mysink.New("hooks", mysink.Config{URL: target.URL})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The default receiver is HTTP (NewHTTPReceiver): Target.URL carries
// Target.Secret as user information, as a path segment and as a query
// token, the places where webhook URLs keep their credentials. A sink over
// another protocol brings its own Receiver (WithReceiver): the email sink's
// tests wrap an SMTP server, where Target.Addr is the server's address and
// Target.Secret the password it accepts.
//
// The checks, each a subtest, are what every sink must do:
//
//   - Name is set, stable, and accepted by a sinks.Registry.
//   - Send delivers; the delivery id of the context (sinks.WithDeliveryID)
//     reaches the far end, the same on every attempt (WithoutDeliveryID
//     skips this for protocols with nowhere to carry it).
//   - Concurrent sends all arrive (run the tests with -race).
//   - A cancelled context ends a Send that waits on the far end promptly,
//     with an error matching context.Canceled that is not transient.
//   - A transient refusal (HTTP 503, SMTP 4xx) and an unreachable far end
//     give transient errors (sinks.IsTransient); a terminal refusal (HTTP
//     400, SMTP 5xx) a terminal one.
//   - A retry hint from the far end (HTTP Retry-After; a Receiver whose
//     protocol has none skips this) is surfaced by sinks.RetryAfterHint.
//   - No error, and no DLQ item's LastError, holds Target.Secret.
//   - Each per-call recipient of WithRecipients survives a round trip
//     through JSON and sinks.DecodeRecipient with its type and its JSON,
//     and reaches the same place as the original; no recipient (empty or
//     null JSON) decodes to nil.
//   - A message dead-lettered into a FileDLQ on disk and replayed reaches
//     the same place, with the same delivery id.
//
// FuzzDecodeRecipient is the matching fuzz target for a sink's
// RecipientDecoder.
package sinktest
