package dletter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/dletter/dletter"
)

// Order is the Quick start's item. AppendLog on the pointer keeps Log free of
// allocations; AppendJSONString keeps the JSON valid for any ID.
type Order struct{ ID string }

func (o *Order) AppendLog(buf []byte) []byte {
	buf = append(buf, `{"id":`...)
	buf = dletter.AppendJSONString(buf, o.ID)
	return append(buf, '}')
}

// The Quick start of go-dletter, unchanged apart from the pointer receiver:
// record failures, then replay them later.
func Example() {
	dir, _ := os.MkdirTemp("", "dletter-example")
	defer os.RemoveAll(dir)

	// Create a logger
	dlq, err := dletter.New(filepath.Join(dir, "logs", "orders.log"),
		dletter.WithMaxSize(50), // rotate at 50 MB
		dletter.WithMaxBackups(10),
		dletter.WithCompress(true),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dlq.Close()

	// Record a failure
	processingErr := errors.New("database timeout")
	if err := dletter.Log(dlq, &Order{ID: "ord-42"}, processingErr, 1); err != nil {
		fmt.Println(err)
		return
	}

	// Replay later (e.g. in a background goroutine)
	processOrder := func(payload []byte) error {
		var o struct{ ID string }
		if err := json.Unmarshal(payload, &o); err != nil {
			return err
		}
		fmt.Println("processing", o.ID)
		return nil
	}
	err = dlq.Replay(context.Background(), func(payload []byte) error {
		return processOrder(payload)
	}, dletter.ReplayOptions{MaxAttempts: 5, InitialWait: time.Millisecond})
	fmt.Println("replay:", err)
	// Output:
	// processing ord-42
	// replay: <nil>
}

// Replay with a handler that takes a context and up to four deliveries at
// once. The handler's context ends when Replay's does or the Logger closes,
// so a slow delivery can stop; deliveries finish in any order.
func ExampleLogger_ReplayContext() {
	dir, _ := os.MkdirTemp("", "dletter-example")
	defer os.RemoveAll(dir)
	dlq, err := dletter.New(filepath.Join(dir, "orders.log"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dlq.Close()
	for i := 1; i <= 6; i++ {
		_ = dletter.Log(dlq, &Order{ID: fmt.Sprintf("ord-%d", i)}, errors.New("database timeout"), 1)
	}

	var mu sync.Mutex
	var delivered []string
	send := func(ctx context.Context, payload []byte) error {
		var o struct{ ID string }
		if err := json.Unmarshal(payload, &o); err != nil {
			return err
		}
		// A real handler passes ctx on, e.g. to http.NewRequestWithContext.
		if err := ctx.Err(); err != nil {
			return err
		}
		mu.Lock()
		delivered = append(delivered, o.ID)
		mu.Unlock()
		return nil
	}
	err = dlq.ReplayContext(context.Background(), send, dletter.ReplayOptions{Concurrency: 4, MaxAttempts: 5})
	slices.Sort(delivered)
	fmt.Println("replay:", err)
	fmt.Println(delivered)
	// Output:
	// replay: <nil>
	// [ord-1 ord-2 ord-3 ord-4 ord-5 ord-6]
}

// An operator's view: count and list what is waiting, without consuming it.
func ExampleLogger_Items() {
	dir, _ := os.MkdirTemp("", "dletter-example")
	defer os.RemoveAll(dir)
	dlq, err := dletter.New(filepath.Join(dir, "orders.log"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dlq.Close()
	for _, id := range []string{"ord-1", "ord-2"} {
		_ = dletter.Log(dlq, &Order{ID: id}, errors.New("smtp: 451 try later"), 1)
	}
	_ = dletter.LogPermanent(dlq, &Order{ID: "ord-0"}, "card declined")

	for it, err := range dlq.Items(dletter.RetryLog, dletter.NewestFirst) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s attempt=%d reason=%q\n", it.Payload, it.Attempt, it.Reason)
	}
	st, _ := dlq.Stats()
	fmt.Printf("pending=%d permanent=%d\n", st.Pending, st.Permanent)
	// Output:
	// {"id":"ord-2"} attempt=1 reason="smtp: 451 try later"
	// {"id":"ord-1"} attempt=1 reason="smtp: 451 try later"
	// pending=2 permanent=1
}

// Power-loss safety: Log returns once the item is fdatasync'd; concurrent
// callers share one sync.
func ExampleWithDurability() {
	dir, _ := os.MkdirTemp("", "dletter-example")
	defer os.RemoveAll(dir)
	dlq, err := dletter.New(filepath.Join(dir, "payments.log"),
		dletter.WithDurability(dletter.SurvivesPowerLoss))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dlq.Close()
	err = dletter.Log(dlq, dletter.RawPayload(`{"payment":"pay-7"}`), errors.New("acquirer 503"), 1)
	fmt.Println(err)
	// Output:
	// <nil>
}

// AppendJSONString escapes what JSON requires, so a Loggable stays valid for
// any field value.
func ExampleAppendJSONString() {
	buf := []byte(`{"id":`)
	buf = dletter.AppendJSONString(buf, "ord \"42\"\n")
	buf = append(buf, '}')
	fmt.Println(string(buf))
	// Output:
	// {"id":"ord \"42\"\n"}
}
