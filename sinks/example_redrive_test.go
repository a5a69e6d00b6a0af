package sinks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dletter/dletter/sinks"
)

// mailer fails for addresses of the domains that are down.
type mailer struct{ down []string }

func (m *mailer) Name() string { return "mail" }

func (m *mailer) Send(ctx context.Context, to sinks.Recipient, msg sinks.Message) error {
	for _, d := range m.down {
		if strings.HasSuffix(fmt.Sprint(to), d) {
			return sinks.Transient(fmt.Errorf("smtp: %s is down", d))
		}
	}
	return nil
}

// DecodeRecipient rebuilds the address a DLQ stored as JSON.
func (m *mailer) DecodeRecipient(raw json.RawMessage) (sinks.Recipient, error) {
	var to string
	err := json.Unmarshal(raw, &to)
	return to, err
}

func ExampleRedrive() {
	ctx := context.Background()
	dlq := sinks.NewMemoryDLQ()
	defer dlq.Close()
	reg := sinks.NewRegistry(
		sinks.WithRetryPolicy(sinks.RetryPolicy{RetryOverride: sinks.RetryOverride{MaxAttempts: new(1)}}),
		sinks.WithDLQ(dlq), // also lets dlq.Replay find the sinks
	)
	m := &mailer{down: []string{"example.com", "example.org"}}
	_ = reg.Register(m)

	// An outage: three messages end in the DLQ.
	for _, to := range []string{"a@example.com", "b@example.org", "c@example.com"} {
		_ = reg.Send(ctx, "mail", to, sinks.Message{Subject: "hello " + to})
	}
	m.down = []string{"example.org"} // example.com is back, example.org is not

	p, _ := sinks.Redrive(ctx, dlq, sinks.RedriveOptions{Filter: sinks.Filter{Sink: "mail"}, DryRun: true})
	fmt.Println("would replay:", p.Matched)

	p, _ = sinks.Redrive(ctx, dlq, sinks.RedriveOptions{Filter: sinks.Filter{Sink: "mail"}, Rate: 100})
	fmt.Printf("delivered %d, failed again %d\n", p.Delivered, p.Failed)

	left, _ := dlq.Items(ctx, "mail", 0)
	for _, it := range left {
		fmt.Printf("left: %s attempts=%d replays=%d\n", it.Message.Subject, it.Attempts, it.Replays)
	}
	// Output:
	// would replay: 3
	// delivered 2, failed again 1
	// left: hello b@example.org attempts=2 replays=1
}
