package sinks_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
)

// benchItem is a typical dead-lettered webhook delivery.
func benchItem() sinks.DLQItem {
	at := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	return sinks.DLQItem{
		Sink:          "webhook",
		At:            at,
		Recipient:     json.RawMessage(`{"url":"https://hooks.example.com/orders"}`),
		Message:       sinks.Message{Subject: "order.created", Body: `{"order_id":"A-1042","total":1999,"currency":"EUR"}`},
		Attempts:      5,
		LastError:     "webhook: HTTP status 503 Service Unavailable",
		FirstFailedAt: at.Add(-30 * time.Second),
		LastFailedAt:  at,
		DeliveryID:    "9f1c4e1a-3b2d-4c6e-8f00-1a2b3c4d5e6f",
	}
}

// redisBenchmark runs redis-benchmark against addr with a command of the
// same shape as a push (XADD with MAXLEN ~ and the item's JSON) and returns
// its rate in requests per second.
func redisBenchmark(b *testing.B, addr string, clients, pipeline, requests int, payload []byte) float64 {
	b.Helper()
	bin := redistest.Binary(b, "redis-benchmark")
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command(bin, "-h", host, "-p", port,
		"-c", strconv.Itoa(clients), "-P", strconv.Itoa(pipeline), "-n", strconv.Itoa(requests),
		"--csv", "XADD", "rb:dlq:webhook", "MAXLEN", "~", "10000", "*", "item", string(payload)).Output()
	if err != nil {
		b.Fatalf("redis-benchmark: %v\n%s", err, out)
	}
	// CSV: a header, then "<command>","<rps>" and six latency columns. The
	// command is not escaped (the JSON's quotes and commas stay as they
	// are), so the rate is read from the end of the line.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fields := strings.Split(lines[len(lines)-1], ",")
	if len(lines) < 2 || len(fields) < 8 {
		b.Fatalf("redis-benchmark printed %q", out)
	}
	rps, err := strconv.ParseFloat(strings.Trim(fields[len(fields)-7], `"`), 64)
	if err != nil {
		b.Fatalf("redis-benchmark rate: %v in %q", err, out)
	}
	return rps
}

// reportRate puts a rate beside ns/op: ops/s of items pushed.
func reportRate(b *testing.B, items int, elapsed time.Duration) {
	b.ReportMetric(float64(items)/elapsed.Seconds(), "items/s")
}

// reportShare runs redis-benchmark right after one of ours, with as many
// requests, and reports our rate as a percentage of its rate: measured
// back to back, the two see the same load of the machine, which the
// separate sub-benchmarks, seconds apart, may not.
func reportShare(b *testing.B, addr string, clients, pipeline, items int, elapsed time.Duration, payload []byte) {
	b.StopTimer()
	rps := redisBenchmark(b, addr, clients, pipeline, max(items, 2000*pipeline), payload)
	b.ReportMetric(100*float64(items)/elapsed.Seconds()/rps, "%-of-redis-benchmark")
}

// parallel runs op b.N times in all from clients goroutines.
func parallel(b *testing.B, clients int, op func() error) {
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for w := range clients {
		n := b.N / clients
		if w < b.N%clients {
			n++
		}
		wg.Go(func() {
			for range n {
				if err := op(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkRedisPush puts RedisDLQ.Push beside redis-benchmark's XADD of
// the same bytes on the same server, one client and eight, without
// pipelining; and AddBatch beside redis-benchmark with a pipeline of the
// batch's size. The target is at least half of redis-benchmark's rate;
// the dletter sub-benchmarks report their share of it, measured back to
// back (%-of-redis-benchmark).
func BenchmarkRedisPush(b *testing.B) {
	srv := redistest.Start(b)
	payload, err := json.Marshal(benchItem())
	if err != nil {
		b.Fatal(err)
	}
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("redis-benchmark/clients=%d", clients), func(b *testing.B) {
			n := max(b.N, 2000)
			rps := redisBenchmark(b, srv.Addr, clients, 1, n, payload)
			b.ReportMetric(1e9/rps, "ns/op")
			b.ReportMetric(rps, "items/s")
		})
		b.Run(fmt.Sprintf("go-redis-XADD/clients=%d", clients), func(b *testing.B) {
			// The client library's own cost: a bare XADD of the same bytes.
			c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: clients})
			defer c.Close()
			ctx := context.Background()
			args := &redis.XAddArgs{Stream: "gr:dlq:webhook", MaxLen: 10000, Approx: true, Values: []any{"item", payload}}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			parallel(b, clients, func() error { return c.XAdd(ctx, args).Err() })
			reportRate(b, b.N, time.Since(start))
		})
		b.Run(fmt.Sprintf("dletter/clients=%d", clients), func(b *testing.B) {
			c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: clients})
			defer c.Close()
			d := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix("dl"))
			it := benchItem()
			ctx := context.Background()
			if err := d.Push(ctx, it); err != nil { // register the sink, load the script
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			parallel(b, clients, func() error { return d.Push(ctx, it) })
			elapsed := time.Since(start)
			reportRate(b, b.N, elapsed)
			reportShare(b, srv.Addr, clients, 1, b.N, elapsed, payload)
		})
	}
	b.Run("dletter/FallbackDLQ/clients=1", func(b *testing.B) {
		// The same push through a FallbackDLQ whose primary is up: AddOnce
		// (a script that also records the key) plus the keys released in
		// the background.
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		defer c.Close()
		local, err := sinks.OpenFileDLQ(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		f, err := sinks.NewFallbackDLQ(sinks.NewRedisDLQ(c, sinks.WithKeyPrefix("fb")), local)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		// The same item, but with At and DeliveryID left for Push to fill:
		// the same item twice would be one item.
		it := benchItem()
		it.At, it.DeliveryID = time.Time{}, ""
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if err := f.Push(ctx, it); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, b.N, time.Since(start))
	})
	const batch = 100
	b.Run(fmt.Sprintf("redis-benchmark/pipeline=%d", batch), func(b *testing.B) {
		n := max(b.N*batch, 20000)
		rps := redisBenchmark(b, srv.Addr, 1, batch, n, payload)
		b.ReportMetric(1e9*batch/rps, "ns/op")
		b.ReportMetric(rps, "items/s")
	})
	b.Run(fmt.Sprintf("dletter/AddBatch=%d", batch), func(b *testing.B) {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		defer c.Close()
		d := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix("dlb"))
		items := make([]sinks.DLQItem, batch)
		for i := range items {
			items[i] = benchItem()
		}
		ctx := context.Background()
		if _, err := d.AddBatch(ctx, items); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if _, err := d.AddBatch(ctx, items); err != nil {
				b.Fatal(err)
			}
		}
		elapsed := time.Since(start)
		reportRate(b, b.N*batch, elapsed)
		reportShare(b, srv.Addr, 1, batch, b.N*batch, elapsed, payload)
	})
}

// fillScript appends ARGV[2] entries holding ARGV[1] to KEYS[1] on the
// server itself: a million entries in a few seconds.
var fillScript = redis.NewScript(`
for i = 1, tonumber(ARGV[2]) do
  redis.call('XADD', KEYS[1], '*', 'item', ARGV[1])
end
return redis.call('XLEN', KEYS[1])
`)

// BenchmarkRedisItems reads the newest 100 items of a stream of 1,000,000
// (and of four sinks of 250,000 merged), beside a bare XREVRANGE COUNT 100
// of the same stream. With -benchtime=1x the streams hold 20,000 items.
func BenchmarkRedisItems(b *testing.B) {
	total := 1_000_000
	if f := flag.Lookup("test.benchtime"); f != nil && f.Value.String() == "1x" {
		// The smoke run (make bench-smoke) checks that the code runs, not
		// how fast: a smaller stream spares it a million-entry fill.
		total = 20_000
	}
	srv := redistest.Start(b)
	c := srv.Client()
	ctx := context.Background()
	d := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix("big"), sinks.WithMaxLen(0))
	payload, err := json.Marshal(benchItem())
	if err != nil {
		b.Fatal(err)
	}
	fill := func(sink string, n int) {
		if _, err := d.Add(ctx, sinks.DLQItem{Sink: sink}); err != nil { // registers the sink
			b.Fatal(err)
		}
		// In chunks, so that no script runs long enough to block the server.
		for left := n - 1; left > 0; left -= 20000 {
			if err := fillScript.Run(ctx, c, []string{"big:dlq:" + sink}, payload, min(left, 20000)).Err(); err != nil {
				b.Fatal(err)
			}
		}
	}
	fill("one", total)
	for i := range 4 {
		fill(fmt.Sprintf("part%d", i), total/4)
	}

	b.Run("XREVRANGE-100", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if err := c.XRevRangeN(ctx, "big:dlq:one", "+", "-", 100).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dletter/Items-100", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if items, err := d.Items(ctx, "one", 100); err != nil || len(items) != 100 {
				b.Fatal(len(items), err)
			}
		}
	})
	b.Run("dletter/List-100-page-2", func(b *testing.B) {
		first, next, err := d.List(ctx, sinks.Filter{Sink: "one"}, "", 100)
		if err != nil || len(first) != 100 {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if items, _, err := d.List(ctx, sinks.Filter{Sink: "one"}, next, 100); err != nil || len(items) != 100 {
				b.Fatal(len(items), err)
			}
		}
	})
	b.Run("dletter/Items-100-all-sinks", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if items, err := d.Items(ctx, "", 100); err != nil || len(items) != 100 {
				b.Fatal(len(items), err)
			}
		}
	})
}

// reportOps puts a rate beside ns/op: operations (one item or task each)
// per second.
func reportOps(b *testing.B, ops int, elapsed time.Duration) {
	b.ReportMetric(float64(ops)/elapsed.Seconds(), "ops/s")
}

// BenchmarkRedisGroupCommit puts 64 goroutines pushing at once through
// RedisDLQ.Push and RedisQueue.Enqueue (whose XADDs share pipelines: group
// commit) beside 64 goroutines each running a bare go-redis XADD of the
// same bytes, one goroutine sending pipelines of 100 XADDs (the ceiling),
// and asynq's Client.Enqueue from 64 goroutines (a script per task). Each
// reports ops/s; ours also report x-bare-XADD, their rate as a multiple of
// the bare XADD's measured right after them. The target is at least 1.5.
func BenchmarkRedisGroupCommit(b *testing.B) {
	const clients = 64
	srv := redistest.Start(b)
	payload, err := json.Marshal(benchItem())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	newClient := func(b *testing.B) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: clients})
		b.Cleanup(func() {
			_ = c.FlushDB(ctx).Err() // the queue's streams are not capped
			_ = c.Close()
		})
		return c
	}
	run := func(b *testing.B, op func() error) {
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		parallel(b, clients, op)
		reportOps(b, b.N, time.Since(start))
	}
	bareXAdd := func(c *redis.Client) func() error {
		args := &redis.XAddArgs{Stream: "gr:dlq:webhook", MaxLen: 10000, Approx: true, Values: []any{"item", payload}}
		return func() error { return c.XAdd(ctx, args).Err() }
	}
	// vsBare runs op, then as many bare XADDs from as many goroutines, and
	// reports op's rate as a multiple of theirs: measured back to back, the
	// two see the same load of the machine.
	vsBare := func(b *testing.B, c *redis.Client, op func() error) {
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		parallel(b, clients, op)
		ours := time.Since(start)
		reportOps(b, b.N, ours)
		b.StopTimer()
		start = time.Now()
		parallel(b, clients, bareXAdd(c))
		b.ReportMetric(time.Since(start).Seconds()/ours.Seconds(), "x-bare-XADD")
	}
	b.Run("go-redis-XADD/clients=64", func(b *testing.B) { run(b, bareXAdd(newClient(b))) })
	b.Run("go-redis-pipeline=100", func(b *testing.B) {
		c := newClient(b)
		args := &redis.XAddArgs{Stream: "gp:dlq:webhook", MaxLen: 10000, Approx: true, Values: []any{"item", payload}}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for left := b.N; left > 0; left -= 100 {
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for range min(left, 100) {
					p.XAdd(ctx, args)
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		reportOps(b, b.N, time.Since(start))
	})
	b.Run("dletter-Push/clients=64", func(b *testing.B) {
		c := newClient(b)
		d := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix("gc"))
		defer d.Close()
		it := benchItem()
		if err := d.Push(ctx, it); err != nil { // register the sink
			b.Fatal(err)
		}
		vsBare(b, c, func() error { return d.Push(ctx, it) })
	})
	b.Run("dletter-Enqueue/clients=64", func(b *testing.B) {
		c := newClient(b)
		q := sinks.NewRedisQueue(c, sinks.WithKeyPrefix("gcq"))
		defer q.Close()
		it := benchItem()
		task := &sinks.Task{Sink: "webhook", Recipient: it.Recipient.(json.RawMessage), Message: it.Message,
			DeliveryID: it.DeliveryID, EnqueuedAt: it.At}
		if err := q.Enqueue(ctx, task); err != nil {
			b.Fatal(err)
		}
		vsBare(b, c, func() error { return q.Enqueue(ctx, task) })
	})
	b.Run("asynq-Enqueue/clients=64", func(b *testing.B) {
		c := asynq.NewClientFromRedisClient(newClient(b))
		task := asynq.NewTask("webhook", payload)
		run(b, func() error { _, err := c.EnqueueContext(ctx, task); return err })
	})
}
