package daemon

import (
	"context"
	"strings"

	"github.com/dletter/dletter/sinks"
)

// redactedSink wraps a sink so that the text of its errors never carries
// the secrets of its configuration (a webhook or Slack URL, whose path is
// often the credential; a password; a token). Those texts end up in DLQ
// items, API answers, console pages and logs. The error chain is kept, so
// classification (IsTransient, Retry-After) is unchanged.
type redactedSink struct {
	inner   sinks.Sink
	secrets []string // longest first
}

// redact wraps s when its configuration block holds secrets: the values
// sinks.SecretValues finds, which are the expanded ones (what ${NAME}, a
// *_env or a *_file key gave), not the text of the file.
func redact(s sinks.Sink, block map[string]any) sinks.Sink {
	secrets := sinks.SecretValues(block)
	if len(secrets) == 0 {
		return s
	}
	return &redactedSink{inner: s, secrets: secrets}
}

func (r *redactedSink) Name() string { return r.inner.Name() }

// Unwrap returns the wrapped sink, so that sinks.DecodeRecipient finds its
// RecipientDecoder and a Registry sees its Retrier.
func (r *redactedSink) Unwrap() sinks.Sink { return r.inner }

// Send calls the wrapped sink and scrubs its error's text.
func (r *redactedSink) Send(ctx context.Context, to sinks.Recipient, m sinks.Message) error {
	err := r.inner.Send(ctx, to, m)
	if err == nil {
		return nil
	}
	text := err.Error()
	scrubbed := scrub(text, r.secrets)
	if scrubbed == text {
		return err
	}
	return &redactedError{text: scrubbed, err: err}
}

type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	return s
}
