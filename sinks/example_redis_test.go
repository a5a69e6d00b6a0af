package sinks_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/sinks"
)

// A RedisDLQ on one server (REDIS_ADDR is its host:port, such as
// 127.0.0.1:6379); a redis.NewClusterClient works the same way.
func ExampleNewRedisDLQ() {
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
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
	// id is the sink and the stream entry, such as "webhook:1795448175222-0".

	items, err := dlq.Items(ctx, "webhook", 10) // newest first
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		fmt.Println(it.Sink, it.Message.Subject, it.Attempts, it.LastError)
	}

	// The receiver is fixed and the order was sent again: the item can go.
	if err := dlq.Discard(ctx, id); err != nil {
		log.Fatal(err)
	}
	n, err := dlq.Count(ctx, "webhook")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "left")
	// Output:
	// webhook order.created 5 HTTP status 503
	// 0 left
}

// A FallbackDLQ keeps items on the local disk while Redis is down and moves
// them to Redis once it is back. Here nothing listens on port 1: Redis is
// down from the start.
func ExampleNewFallbackDLQ() {
	client := redis.NewClient(&redis.Options{
		Addr:        "127.0.0.1:1",
		DialTimeout: time.Second, // an outage costs the first push this much
		ReadTimeout: time.Second,
		MaxRetries:  -1,
	})
	defer client.Close()
	primary := sinks.NewRedisDLQ(client, sinks.WithPushTimeout(2*time.Second))

	local := sinks.NewMemoryDLQ()          // in production: a FileDLQ in a local directory
	quiet := slog.New(slog.DiscardHandler) // in production: your logger, told of the outage and its end
	dlq, err := sinks.NewFallbackDLQ(primary, local, sinks.WithLogger(quiet))
	if err != nil {
		log.Fatal(err)
	}
	defer dlq.Close() // stops the mover, closes both stores

	if err := dlq.Push(context.Background(), sinks.DLQItem{Sink: "email", LastError: "smtp: 451"}); err != nil {
		log.Fatal(err) // only when Redis and the local store both failed
	}
	st, err := dlq.Status(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("primary down: %v, waiting locally: %d\n", st.PrimaryDown, st.Pending)
	// Output:
	// primary down: true, waiting locally: 1
}

// Daemons that share a Redis share their delivery queue: each sink's
// messages go to whichever daemon takes them, a killed daemon's messages
// move to the others after the task lease, and a sink's rate holds across
// all of them. The queue takes the client and prefix of the RedisDLQ.
func ExampleNewRedisQueue() {
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR"), PoolSize: 64})
	defer client.Close()
	dlq := sinks.NewRedisDLQ(client, sinks.WithKeyPrefix("shop"))
	defer dlq.Close()
	queue := sinks.NewRedisQueue(client, sinks.WithKeyPrefix("shop"), sinks.WithTaskLease(30*time.Second))
	defer queue.Close()

	rate, burst := 25.0, 5 // per second and at once, across every daemon
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq), sinks.WithDeliveryPolicy(sinks.DeliveryPolicy{
		PerSink: map[string]sinks.DeliveryOverride{"orders": {Rate: &rate, Burst: &burst}},
	}))
	orders := chanSink{name: "orders", got: make(chan sinks.Message)}
	if err := reg.Register(orders); err != nil {
		log.Fatal(err)
	}
	d, err := sinks.NewDispatcher(reg, queue)
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Start(); err != nil {
		log.Fatal(err)
	}
	defer d.Close(context.Background())

	ctx := sinks.WithDeliveryID(context.Background(), "order-43")
	id, err := d.Enqueue(ctx, "orders", nil, sinks.Message{Subject: "order.created"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("queued", id)
	fmt.Println("delivered", (<-orders.got).Subject)
	// Output:
	// queued order-43
	// delivered order.created
}
