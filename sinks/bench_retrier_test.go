package sinks

import (
	"context"
	"testing"
)

type nopSink struct{}

func (nopSink) Name() string                                   { return "nop" }
func (nopSink) Send(context.Context, Recipient, Message) error { return nil }

// BenchmarkRetrierSuccess is the Retrier's overhead on a delivery that
// succeeds at once, beside a direct call of the same sink.
func BenchmarkRetrierSuccess(b *testing.B) {
	m := Message{Subject: "s", Body: "b"}
	ctx := context.Background()
	withID := WithDeliveryID(ctx, "order-42")
	r := NewRetrier(nopSink{}, RetryConfig{}, &stubDLQ{})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		var s Sink = nopSink{}
		for b.Loop() {
			_ = s.Send(withID, "to", m)
		}
	})
	b.Run("retrier", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = r.Send(withID, "to", m)
		}
	})
	b.Run("retrier-observer", func(b *testing.B) {
		ro := NewRetrier(nopSink{}, RetryConfig{}, &stubDLQ{}, WithObserver(func(Event) {}))
		b.ReportAllocs()
		for b.Loop() {
			_ = ro.Send(withID, "to", m)
		}
	})
	b.Run("retrier-mints-id", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = r.Send(ctx, "to", m)
		}
	})
}
