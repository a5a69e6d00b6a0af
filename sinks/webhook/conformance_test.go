package webhook_test

import (
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/sinktest"
	"github.com/dletter/dletter/sinks/webhook"
)

// The webhook sink, built by its factory with a signing secret and per-call
// URLs allowed on the receiver's host, passes the sink conformance suite.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T, target sinktest.Target) sinks.Sink {
		s, err := sinks.BuildSink("webhook", "hooks", map[string]any{
			"url":                      target.URL,
			"secret":                   vectorSecret,
			"timeout":                  "10s",
			"allow_recipient_hosts":    []any{target.Addr},
			"allow_private_recipients": true,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.(*webhook.Sink).Close() })
		return s
	}, sinktest.WithRecipients(func(target sinktest.Target) []sinks.Recipient {
		return []sinks.Recipient{webhook.Recipient{URL: "http://" + target.Addr + "/per-call?tenant=7"}}
	}))
}
