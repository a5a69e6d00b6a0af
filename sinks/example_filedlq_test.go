package sinks_test

import (
	"context"
	"fmt"
	"os"

	"github.com/dletter/dletter/sinks"
)

func ExampleOpenFileDLQ() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "dlq")
	defer os.RemoveAll(dir)

	dlq, err := sinks.OpenFileDLQ(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	id, _ := dlq.Add(ctx, sinks.DLQItem{Sink: "webhook", Message: sinks.Message{Subject: "order 42"}, Attempts: 5, LastError: "http status 503"})
	_ = dlq.Push(ctx, sinks.DLQItem{Sink: "mail", Message: sinks.Message{Subject: "welcome"}, Attempts: 1, LastError: "550 no such user"})
	_ = dlq.Close()

	// A restart (or a crash) later: everything is still there.
	dlq, _ = sinks.OpenFileDLQ(dir)
	defer dlq.Close()
	n, _ := dlq.Count(ctx, "")
	it, _ := dlq.Get(ctx, id)
	fmt.Println(n, "items; item", id, "is", it.Message.Subject, "after", it.Attempts, "attempts")

	_ = dlq.Discard(ctx, id)
	items, _ := dlq.Items(ctx, "", 10)
	for _, it := range items {
		fmt.Println(it.Sink, it.Message.Subject, it.LastError)
	}
	// Output:
	// 2 items; item 1 is order 42 after 5 attempts
	// mail welcome 550 no such user
}
