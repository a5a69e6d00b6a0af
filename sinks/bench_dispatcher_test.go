package sinks_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/webhook"
)

// benchEngine starts a Dispatcher with the default delivery policy on a
// FileQueue, delivering to webhook sinks aimed at hooks.
func benchEngine(b *testing.B, hooks map[string]*testenv.Receiver) *sinks.Dispatcher {
	b.Helper()
	reg := sinks.NewRegistry(sinks.WithDLQ(sinks.NewMemoryDLQ()), sinks.WithDeliveryPolicy(sinks.DeliveryPolicy{}))
	for name, h := range hooks {
		s, err := webhook.New(name, webhook.Config{URL: h.URL})
		if err != nil {
			b.Fatal(err)
		}
		if err := reg.Register(s); err != nil {
			b.Fatal(err)
		}
	}
	q, err := sinks.OpenFileQueue(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	d, err := sinks.NewDispatcher(reg, q)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = d.Close(ctx)
		_ = q.Close()
	})
	return d
}

// drain enqueues n messages for sink and waits until hook has them all; it
// returns how long that took.
func drain(b *testing.B, d *sinks.Dispatcher, sink string, hook *testenv.Receiver, n int) time.Duration {
	b.Helper()
	start, want := time.Now(), hook.Total()+n
	for range n {
		if _, err := d.Enqueue(context.Background(), sink, nil, sinks.Message{Subject: "bench", Body: "{}"}); err != nil {
			b.Fatal(err)
		}
	}
	for hook.Total() < want {
		select {
		case <-hook.Accepted():
		case <-time.After(time.Minute):
			b.Fatalf("%d of %d delivered after a minute", hook.Total()-want+n, n)
		}
	}
	return time.Since(start)
}

// BenchmarkDispatcherAsync: 200 messages to a webhook that answers in
// 50 ms, through the Dispatcher with the default configuration, beside the
// limit (a goroutine per message calling the sink directly) and beside one
// at a time. ms/200msgs is the time from the first Enqueue to the last
// delivery.
func BenchmarkDispatcherAsync(b *testing.B) {
	const n, latency = 200, 50 * time.Millisecond
	b.Run("dispatcher", func(b *testing.B) {
		hook := testenv.NewReceiver(b)
		hook.Delay.Store(int64(latency))
		d := benchEngine(b, map[string]*testenv.Receiver{"hook": hook})
		var total time.Duration
		for b.Loop() {
			total += drain(b, d, "hook", hook, n)
		}
		report(b, total, n)
	})
	b.Run("limit=goroutine-per-message", func(b *testing.B) {
		hook := testenv.NewReceiver(b)
		hook.Delay.Store(int64(latency))
		s, err := webhook.New("hook", webhook.Config{URL: hook.URL})
		if err != nil {
			b.Fatal(err)
		}
		s.SetConcurrency(n)
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					if err := s.Send(context.Background(), nil, sinks.Message{Subject: "bench", Body: "{}"}); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
			total += time.Since(start)
		}
		report(b, total, n)
	})
}

// BenchmarkDispatcherIsolation: the same 200 messages to a healthy 50 ms
// webhook, alone and while 20 messages to a second sink that hangs 3 s
// per attempt are in flight and retried: the healthy sink drains in about
// the same time (the target is within 1.5x).
func BenchmarkDispatcherIsolation(b *testing.B) {
	const n, latency = 200, 50 * time.Millisecond
	for _, beside := range []bool{false, true} {
		name := "alone"
		if beside {
			name = "beside-hanging-sink"
		}
		b.Run(name, func(b *testing.B) {
			good, slow := testenv.NewReceiver(b), testenv.NewReceiver(b)
			good.Delay.Store(int64(latency))
			slow.Delay.Store(int64(3 * time.Second))
			slow.Fail.Store(true)
			d := benchEngine(b, map[string]*testenv.Receiver{"good": good, "slow": slow})
			if beside {
				for range 20 {
					if _, err := d.Enqueue(context.Background(), "slow", nil, sinks.Message{Body: "{}"}); err != nil {
						b.Fatal(err)
					}
				}
				for slow.InFlight() < 16 {
					time.Sleep(time.Millisecond)
				}
			}
			var total time.Duration
			for b.Loop() {
				total += drain(b, d, "good", good, n)
			}
			report(b, total, n)
		})
	}
}

// report states the mean time to deliver n messages and the rate.
func report(b *testing.B, total time.Duration, n int) {
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per.Milliseconds()), "ms/200msgs")
	b.ReportMetric(float64(n)/per.Seconds(), "msgs/s")
}
