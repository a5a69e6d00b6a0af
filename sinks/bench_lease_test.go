package sinks_test

import (
	"context"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
)

// BenchmarkLease: what a lease adds to a replay, redrive or discard: one
// Lease and its release of an item, in process (MemoryDLQ) and in Redis
// (two scripts, each one round trip), beside the limit of the latter: two
// PINGs to the same server.
func BenchmarkLease(b *testing.B) {
	ctx := sinks.WithLeaseHolder(context.Background(), "bench")
	lease := func(b *testing.B, l sinks.Leaser, id string) {
		b.ReportAllocs()
		for b.Loop() {
			release, err := l.Lease(ctx, id, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	}
	b.Run("memory", func(b *testing.B) {
		st := sinks.NewMemoryDLQ()
		id, err := st.Add(ctx, sinks.DLQItem{Sink: "mail"})
		if err != nil {
			b.Fatal(err)
		}
		lease(b, st, id)
	})
	srv := redistest.Start(b)
	c := srv.Client()
	b.Run("redis", func(b *testing.B) {
		st := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix("bench-lease"))
		id, err := st.Add(ctx, sinks.DLQItem{Sink: "mail"})
		if err != nil {
			b.Fatal(err)
		}
		lease(b, st, id)
	})
	b.Run("redis-two-pings", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
			if err := c.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
