package sinks_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/sinks"
)

// A RedisDLQ on one server; a redis.NewClusterClient works the same way.
// (This example needs a Redis server, so it is compiled but not run.)
func ExampleNewRedisDLQ() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	dlq := sinks.NewRedisDLQ(client, sinks.WithKeyPrefix("shop"), sinks.WithMaxLen(100_000))
	defer dlq.Close()

	ctx := context.Background()
	id, err := dlq.Add(ctx, sinks.DLQItem{
		Sink:      "webhook",
		Message:   sinks.Message{Subject: "order.created", Body: `{"order":42}`},
		Attempts:  5,
		LastError: "HTTP status 503",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("parked as", id) // for example "webhook:1795448175222-596000"

	items, err := dlq.Items(ctx, "", 10) // every sink, newest first
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		fmt.Println(it.ID, it.Sink, it.LastError)
	}
	st, err := dlq.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Items, "items,", st.Dropped, "dropped by MAXLEN")
}

// A FallbackDLQ keeps items on the local disk while Redis is down and moves
// them to Redis once it is back. (Compiled, not run: it needs a server.)
func ExampleNewFallbackDLQ() {
	client := redis.NewClient(&redis.Options{
		Addr:        "127.0.0.1:6379",
		DialTimeout: time.Second, // an outage costs the first push this much
		ReadTimeout: time.Second,
	})
	defer client.Close()
	primary := sinks.NewRedisDLQ(client, sinks.WithPushTimeout(2*time.Second))

	local := sinks.NewMemoryDLQ()                                                      // in production: a FileDLQ in a local directory
	dlq, err := sinks.NewFallbackDLQ(primary, local, sinks.WithLogger(slog.Default())) // the outage and its end
	if err != nil {
		log.Fatal(err)
	}
	defer dlq.Close() // stops the mover, closes both stores

	if err := dlq.Push(context.Background(), sinks.DLQItem{Sink: "email", LastError: "smtp: 451"}); err != nil {
		log.Fatal(err) // only when Redis and the local store both failed
	}
	st, _ := dlq.Status(context.Background())
	fmt.Printf("primary down: %v, waiting locally: %d\n", st.PrimaryDown, st.Pending)
}

// Daemons that share a Redis share their delivery queue: each sink's
// messages go to whichever daemon takes them, a killed daemon's messages
// move to the others after the lease, and a sink's rate holds across all
// of them. The queue takes the client and prefix of the RedisDLQ.
// (Compiled, not run: it needs a server.)
func ExampleNewRedisQueue() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", PoolSize: 64})
	defer client.Close()
	dlq := sinks.NewRedisDLQ(client, sinks.WithKeyPrefix("shop"))
	defer dlq.Close()
	queue := sinks.NewRedisQueue(client, sinks.WithKeyPrefix("shop"), sinks.WithTaskLease(30*time.Second))
	defer queue.Close()

	rate, burst := 25.0, 5 // per second and at once, across every daemon
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq), sinks.WithDeliveryPolicy(sinks.DeliveryPolicy{
		PerSink: map[string]sinks.DeliveryOverride{"webhook": {Rate: &rate, Burst: &burst}},
	}))
	// reg.Register(...) the sinks here.
	d, err := sinks.NewDispatcher(reg, queue)
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Start(); err != nil {
		log.Fatal(err)
	}
	defer d.Close(context.Background())
	id, err := d.Enqueue(context.Background(), "webhook", nil, sinks.Message{Subject: "order.created"})
	fmt.Println(id, err)
}
