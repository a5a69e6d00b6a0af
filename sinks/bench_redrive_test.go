package sinks

import (
	"context"
	"sync"
	"testing"
	"time"
)

// BenchmarkRedrive: 500 items of a MemoryDLQ redriven through a sink that
// takes 20 ms a Send, with Concurrency 16, beside its limit (the same Sends
// on one goroutine per item, with no DLQ) and beside a serial Redrive (on 50
// items, to keep the run short: 20 ms an item whatever the count). One op
// is one whole Redrive; s/500-items compares the three.
func BenchmarkRedrive(b *testing.B) {
	const items, latency = 500, 20 * time.Millisecond
	per500 := func(b *testing.B, n int) {
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*items/float64(n), "s/500-items")
	}
	run := func(b *testing.B, n, concurrency int) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			s := &slowSink{latency: latency}
			st := slowStore(b, s, n, 0)
			b.StartTimer()
			p, err := Redrive(context.Background(), st, RedriveOptions{Concurrency: concurrency})
			if err != nil || p.Delivered != n {
				b.Fatalf("Redrive = %+v, %v", p, err)
			}
			_ = st.Close()
		}
		per500(b, n)
	}
	b.Run("concurrency-16", func(b *testing.B) { run(b, items, 16) })
	b.Run("goroutine-per-item", func(b *testing.B) {
		b.ReportAllocs()
		s := &slowSink{latency: latency}
		for b.Loop() {
			var wg sync.WaitGroup
			for range items {
				wg.Go(func() { _ = s.Send(context.Background(), nil, Message{}) })
			}
			wg.Wait()
		}
		per500(b, items)
	})
	b.Run("serial", func(b *testing.B) { run(b, items/10, 0) })
}
