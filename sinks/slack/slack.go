package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/endpoint"
	"github.com/dletter/dletter/sinks/internal/httpsink"
)

// Kind is the kind this package registers with sinks.RegisterFactory.
const Kind = "slack"

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config configures a Sink.
type Config struct {
	// WebhookURL is the incoming webhook's URL (required). It is a secret.
	WebhookURL string
	// Timeout bounds each request; 0 means DefaultTimeout.
	Timeout time.Duration
	// Transport carries the requests; nil means a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Sink posts messages to a Slack incoming webhook. It is safe for
// concurrent use.
type Sink struct {
	name   string
	url    *url.URL
	target string
	client *http.Client
	// ownTransport is set when the client's transport is ours to tune.
	ownTransport bool
}

var _ sinks.RecipientDecoder = (*Sink)(nil)

// New returns a Slack sink called name. A bad configuration is a
// *sinks.ConfigError, which never shows the URL.
func New(name string, cfg Config) (*Sink, error) {
	fail := func(reason string) error {
		return &sinks.ConfigError{Kind: Kind, Sink: name, Key: "webhook_url", Reason: reason}
	}
	if cfg.WebhookURL == "" {
		return nil, fail("is required")
	}
	u, err := url.Parse(cfg.WebhookURL)
	switch {
	case err != nil:
		return nil, fail("is not a URL")
	case u.Hostname() == "":
		return nil, fail("has no host")
	case u.Scheme != "https" && !(u.Scheme == "http" && endpoint.IsLoopback(u.Hostname())):
		return nil, fail("must be an https URL (http is allowed only for a loopback host)")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	s := &Sink{
		name:   name,
		url:    u,
		target: "slack incoming webhook on " + u.Hostname(),
		client: httpsink.NewClient(timeout, cfg.Transport),

		ownTransport: cfg.Transport == nil,
	}
	return s, nil
}

// Name returns the name the sink was built with.
func (s *Sink) Name() string { return s.name }

// String describes the sink without its webhook URL, so that printing a
// Sink, with %v, %+v or %#v, cannot reveal it.
func (s *Sink) String() string { return fmt.Sprintf("slack sink %q (%s)", s.name, s.target) }

// GoString is String.
func (s *Sink) GoString() string { return s.String() }

// Send posts m to the webhook. to must be nil: the webhook decides the
// channel. An empty message is refused, as Slack would refuse it.
func (s *Sink) Send(ctx context.Context, to sinks.Recipient, m sinks.Message) error {
	if !noRecipient(to) {
		return sinks.Terminal(sinks.Errorf(sinks.CodeInvalidArgument, "slack.Send",
			"sink %q: takes no recipient (the webhook decides the channel), got %T", s.name, to))
	}
	if strings.TrimSpace(m.Subject) == "" && m.Body == "" {
		return sinks.Terminal(sinks.Errorf(sinks.CodeInvalidArgument, "slack.Send",
			"sink %q: the message has neither subject nor body", s.name))
	}
	body, err := encodePayload(m)
	if err != nil {
		return sinks.Terminal(sinks.Errorf(sinks.CodeInvalidArgument, "slack.Send", "sink %q: cannot encode the message: %w", s.name, err))
	}
	err = httpsink.Post(ctx, s.client, httpsink.Request{
		URL:    s.url,
		Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:   body,
		Target: s.target,
	})
	if err != nil {
		return sinks.Errorf(sinks.CodeSinkUnavailable, "slack.Send", "sink %q: %w", s.name, err)
	}
	return nil
}

func noRecipient(to sinks.Recipient) bool {
	switch r := to.(type) {
	case nil:
		return true
	case json.RawMessage:
		return sinks.NoRecipient(r)
	}
	return false
}

// DecodeRecipient returns nil: a Slack sink has no per-call recipient. It
// implements sinks.RecipientDecoder.
func (s *Sink) DecodeRecipient(json.RawMessage) (sinks.Recipient, error) { return nil, nil }

// SetConcurrency holds the sink to n connections per host and keeps them
// open when idle, so that n sends in flight reuse them (unless
// Config.Transport was given). It implements
// sinks.ConcurrencyAware; call it before the sink is used.
func (s *Sink) SetConcurrency(n int) { httpsink.SetConcurrency(s.client, n, s.ownTransport) }

// Close closes the sink's idle connections. The sink stays usable.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
