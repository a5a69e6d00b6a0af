package sinktest

import (
	"context"
	"strings"
	"testing"

	"github.com/dletter/dletter/sinks"
)

// NewSink returns the sink under test, aimed at target: a Send with a nil
// recipient must reach it. It closes what it opens with t.Cleanup. It is called once or more per check, each time with
// the target of a fresh Receiver.
type NewSink func(t *testing.T, target Target) sinks.Sink

// Option adjusts the suite to a sink.
type Option func(*config)

type config struct {
	receiver func(t testing.TB) Receiver
	samples  func(Target) []sinks.Recipient
	noID     bool
}

// WithReceiver makes the suite start the far end with start instead of
// NewHTTPReceiver.
func WithReceiver(start func(t testing.TB) Receiver) Option {
	return func(c *config) { c.receiver = start }
}

// WithRecipients gives per-call recipients of the sink, built for the
// receiver's target, that the newSink configuration accepts: the suite
// checks their round trip through JSON and that each reaches the same place
// once decoded. Without it the sink is taken to have no per-call recipient.
func WithRecipients(make func(Target) []sinks.Recipient) Option {
	return func(c *config) { c.samples = make }
}

// WithoutDeliveryID tells the suite that the sink's protocol has nowhere to
// carry the delivery id (a Slack incoming webhook), so that the checks of
// it are skipped.
func WithoutDeliveryID() Option {
	return func(c *config) { c.noID = true }
}

// Run runs the whole suite against the sinks newSink builds.
func Run(t *testing.T, newSink NewSink, opts ...Option) {
	t.Helper()
	c := &config{receiver: NewHTTPReceiver}
	for _, o := range opts {
		o(c)
	}
	t.Run("Name", func(t *testing.T) { testName(t, c.setup(t, newSink)) })
	t.Run("Deliver", func(t *testing.T) { testDeliver(t, c.setup(t, newSink)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, c.setup(t, newSink)) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, c.setup(t, newSink)) })
	t.Run("Transient", func(t *testing.T) { testTransient(t, c.setup(t, newSink)) })
	t.Run("Terminal", func(t *testing.T) { testTerminal(t, c.setup(t, newSink)) })
	t.Run("RetryAfter", func(t *testing.T) { testRetryAfter(t, c.setup(t, newSink)) })
	t.Run("Unreachable", func(t *testing.T) { testUnreachable(t, c.setup(t, newSink)) })
	t.Run("Recipients", func(t *testing.T) { testRecipients(t, c.setup(t, newSink)) })
	t.Run("Replay", func(t *testing.T) { testReplay(t, c.setup(t, newSink)) })
}

// bench is what one check works with: a fresh receiver and a sink aimed at
// it.
type bench struct {
	*config
	r      Receiver
	target Target
	s      sinks.Sink
}

func (c *config) setup(t *testing.T, newSink NewSink) *bench {
	t.Helper()
	r := c.receiver(t)
	t.Cleanup(r.Close)
	b := &bench{config: c, r: r, target: r.Target()}
	b.s = newSink(t, b.target)
	if b.s == nil {
		t.Fatal("sinktest: newSink returned nil")
	}
	return b
}

// recipients returns nil, the sink's configured target, and then the
// samples of WithRecipients.
func (b *bench) recipients() []sinks.Recipient {
	rs := []sinks.Recipient{nil}
	if b.samples != nil {
		rs = append(rs, b.samples(b.target)...)
	}
	return rs
}

// answer tells the receiver how to answer, skipping the check when its
// protocol cannot.
func (b *bench) answer(t *testing.T, a Answer) {
	t.Helper()
	if !b.r.Answer(a) {
		t.Skipf("sinktest: the receiver cannot answer %+v", a)
	}
}

// send sends the suite's message to the configured target (a nil
// recipient) with delivery id, and checks that an error holds no secret.
func (b *bench) send(t *testing.T, ctx context.Context, id string) error {
	t.Helper()
	err := b.s.Send(sinks.WithDeliveryID(ctx, id), nil, message(t))
	b.noSecret(t, "Send", err)
	return err
}

// noSecret fails t when err's text shows the target's secret.
func (b *bench) noSecret(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		b.noSecretIn(t, what, err.Error())
	}
}

func (b *bench) noSecretIn(t testing.TB, what, text string) {
	t.Helper()
	if s := b.target.Secret; s != "" && strings.Contains(text, s) {
		t.Errorf("sinktest: %s shows the secret: %s", what, text)
	}
}

// message is what the suite sends: a subject and a short body, which every
// sink can deliver.
func message(t testing.TB) sinks.Message {
	return sinks.Message{Subject: "sinktest " + t.Name(), Body: "hello from sinktest"}
}

// newDeliveryID returns a delivery id that a sink can pass on unchanged.
func newDeliveryID() string { return "sinktest-" + newSecret()[len("sinktest"):] }
