package email_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
)

func Example() {
	s, err := sinks.BuildSink("email", "alerts", map[string]any{
		"addr": "smtp.example.com:587",
		"from": "Alerts <alerts@example.com>",
		"tls":  "starttls",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A line break in the subject would let the sender add headers: the
	// message is refused before any connection is made, as a terminal
	// error, so a Retrier dead-letters it at once instead of retrying.
	err = s.Send(context.Background(), email.Recipient{To: []string{"Ops <ops@example.com>"}},
		sinks.Message{Subject: "disk full\r\nBcc: everyone@example.com"})
	fmt.Println(err)
	fmt.Println("transient:", sinks.IsTransient(err))
	// Output:
	// sinks: email.Send: sink "alerts": subject contains a line break
	// transient: false
}

func ExampleSink_DecodeRecipient() {
	s, err := email.New("alerts", email.Config{Addr: "smtp.example.com:587", From: "alerts@example.com", To: []string{"oncall@example.com"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The recipient as a DLQ stored it, rebuilt as sinks.Replay does.
	r, err := sinks.DecodeRecipient(s, json.RawMessage(`{"to":["Ops <ops@example.com>"],"bcc":["audit@example.com"]}`))
	fmt.Printf("%+v %v\n", r, err)
	// None stored: nil, which Send takes as the configured To.
	r, err = sinks.DecodeRecipient(s, json.RawMessage(`null`))
	fmt.Println(r, err)
	// Output:
	// {To:[Ops <ops@example.com>] Cc:[] Bcc:[audit@example.com]} <nil>
	// <nil> <nil>
}
