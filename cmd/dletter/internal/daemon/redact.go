package daemon

import (
	"context"
	"net/url"
	"os"
	"sort"
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

// redact wraps s when its configuration block holds secrets.
func redact(s sinks.Sink, block map[string]any) sinks.Sink {
	secrets := secretsOf(block)
	if len(secrets) == 0 {
		return s
	}
	return &redactedSink{inner: s, secrets: secrets}
}

func (r *redactedSink) Name() string { return r.inner.Name() }

// Unwrap returns the wrapped sink (for FindRecipientDecoder and IsRetried).
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

// secretKey reports whether a configuration key names a secret or a URL.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"url", "secret", "password", "token", "key", "auth", "headers"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// secretsOf collects the secret strings of a sink's block: the values of
// secret-looking keys (for URLs also their path and query, which is where
// Slack and most webhook providers put the credential), and the values that
// *_env and *_file keys point at.
func secretsOf(block map[string]any) []string {
	set := map[string]bool{}
	add := func(v string) {
		if len(v) >= 6 {
			set[v] = true
		}
	}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case string:
			lk := strings.ToLower(key)
			switch {
			case strings.HasSuffix(lk, "_env"):
				add(os.Getenv(v))
			case strings.HasSuffix(lk, "_file"):
				if b, err := os.ReadFile(v); err == nil {
					add(strings.TrimSpace(string(b)))
				}
			case secretKey(key):
				add(v)
				if u, err := url.Parse(v); err == nil && u.Host != "" {
					if len(u.Path) > 1 {
						add(u.Path)
					}
					add(u.RawQuery)
					if u.User != nil {
						add(u.User.String())
					}
				}
			}
		case map[string]any:
			for k, e := range v {
				if secretKey(key) { // every value under headers: is a secret
					walk(key, e)
				} else {
					walk(k, e)
				}
			}
		case []any:
			for _, e := range v {
				walk(key, e)
			}
		}
	}
	for k, v := range block {
		if k != "kind" {
			walk(k, v)
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
