package slack_test

import (
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/sinktest"
	"github.com/dletter/dletter/sinks/slack"
)

// The Slack sink passes the sink conformance suite. An incoming webhook
// has no per-call recipient and nowhere to carry the delivery id.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T, target sinktest.Target) sinks.Sink {
		return newSink(t, slack.Config{WebhookURL: target.URL})
	}, sinktest.WithoutDeliveryID())
}
