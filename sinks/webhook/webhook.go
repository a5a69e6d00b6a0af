package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink"
	"github.com/dletter/dletter/sinks/internal/netguard"
)

// Kind is the kind this package registers with sinks.RegisterFactory.
const Kind = "webhook"

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Config configures a Sink.
type Config struct {
	// URL is the endpoint, http or https (required).
	URL string
	// Headers are added to every request to URL (never to a per-call
	// Recipient URL: they often hold URL's credential). They cannot set
	// Content-Type, Content-Length, Host, Transfer-Encoding, Connection or
	// any webhook-* header.
	Headers map[string]string
	// Secret, when set, signs every request to URL (never one to a
	// per-call Recipient URL, which RecipientSecrets signs): one or more
	// whsec_ secrets separated by spaces (all of them sign during a key
	// rotation).
	Secret string
	// RecipientSecrets signs the requests to per-call Recipient URLs. It
	// maps a host, "hooks.partner.example" (any port) or
	// "hooks.partner.example:8443" (that port, preferred over the former),
	// to its own whsec_ secrets, in the form of Secret. Each host must be
	// allowed by AllowRecipientHosts.
	//
	// A per-call URL whose host has no secret here is sent unsigned, and
	// never with Secret or Headers, which belong to URL's receiver: a
	// partner host must not get the API key of URL, nor signatures that
	// URL accepts. Unsigned rather than refused, because that is what
	// allowing the host without giving it a secret says: such hosts were
	// allowed before per-host secrets existed, a receiver that does verify
	// signatures refuses the request (and the message is dead-lettered
	// with its answer, in sight), and one that does not loses nothing.
	RecipientSecrets map[string]string
	// AllowPrivateRecipients lets per-call Recipient URLs reach loopback,
	// private, shared, link-local (cloud metadata) and other non-public
	// addresses. Without it the address a per-call URL's host resolves to
	// is checked as it is dialled, and such an address is refused before
	// any connection with a terminal error; per-call URLs then do not use
	// a proxy from the environment (HTTPS_PROXY), which would dial in
	// their place. URL is the operator's own and may point anywhere.
	AllowPrivateRecipients bool
	// Timeout bounds each request; 0 means DefaultTimeout.
	Timeout time.Duration
	// AllowRecipientHosts lists the hosts a per-call Recipient URL may aim
	// at: "api.example.com", "api.example.com:8443" or "*.example.com".
	// Empty refuses every per-call URL.
	AllowRecipientHosts []string
	// Transport carries the requests; nil means a clone of
	// http.DefaultTransport. Per-call URLs, unless AllowPrivateRecipients,
	// go through a clone of it whose dialer checks addresses, so with
	// AllowRecipientHosts it must be an *http.Transport.
	Transport http.RoundTripper
}

// Sink posts messages to a webhook. It is safe for concurrent use.
type Sink struct {
	name   string
	url    *url.URL
	target string      // the URL's scheme and host (see httpsink.Redact)
	header http.Header // for the configured URL: Headers and Content-Type
	keys   [][]byte    // for the configured URL only
	allow  []hostRule
	// recipientKeys sign per-call URLs, by host.
	recipientKeys []hostKeys
	client        *http.Client
	// perCall carries the requests to per-call URLs: client itself with
	// AllowPrivateRecipients, else one that dials public addresses only.
	perCall *http.Client
	// ownTransport is set when the client's transport is ours to tune.
	ownTransport bool
}

var _ sinks.RecipientDecoder = (*Sink)(nil)

// reservedHeaders cannot be set through Config.Headers.
var reservedHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true,
	"Transfer-Encoding": true, "Connection": true,
}

// New returns a webhook sink called name. A bad configuration is a
// *sinks.ConfigError that names the key and never shows a secret.
func New(name string, cfg Config) (*Sink, error) {
	fail := func(key string, value any, reason string) error {
		return &sinks.ConfigError{Kind: Kind, Sink: name, Key: key, Value: value, Reason: reason}
	}
	if cfg.URL == "" {
		return nil, fail("url", nil, "is required")
	}
	u, err := parseEndpoint(cfg.URL)
	if err != nil {
		return nil, fail("url", nil, err.Error())
	}
	s := &Sink{
		name:   name,
		url:    u,
		target: httpsink.Redact(u),
		header: make(http.Header, len(cfg.Headers)+2),
	}
	for _, k := range sortedKeys(cfg.Headers) {
		v := cfg.Headers[k]
		key := "headers." + k
		canon := textproto.CanonicalMIMEHeaderKey(k)
		switch {
		case !httpguts.ValidHeaderFieldName(k):
			return nil, fail(key, nil, "is not a valid header name")
		case reservedHeaders[canon] || strings.HasPrefix(canon, "Webhook-"):
			return nil, fail(key, nil, "is set by the sink and cannot be configured")
		case !httpguts.ValidHeaderFieldValue(v):
			return nil, fail(key, nil, "has a character not allowed in a header value (such as CR or LF)")
		}
		s.header.Set(canon, v)
	}
	s.header.Set("Content-Type", "application/json")
	if cfg.Secret != "" {
		if s.keys, err = ParseSecrets(cfg.Secret); err != nil {
			return nil, fail("secret", nil, err.Error())
		}
	}
	for i, h := range cfg.AllowRecipientHosts {
		r, err := parseHostRule(h)
		if err != nil {
			return nil, fail("allow_recipient_hosts["+strconv.Itoa(i)+"]", h, err.Error())
		}
		s.allow = append(s.allow, r)
	}
	if s.recipientKeys, err = parseRecipientSecrets(cfg.RecipientSecrets, s.allow, fail); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	s.client = httpsink.NewClient(timeout, cfg.Transport)
	s.ownTransport = cfg.Transport == nil
	s.perCall = s.client
	if len(s.allow) > 0 && !cfg.AllowPrivateRecipients {
		if s.perCall, err = publicOnly(timeout, cfg.Transport); err != nil {
			return nil, fail("allow_recipient_hosts", nil, err.Error())
		}
	}
	return s, nil
}

// Name returns the name the sink was built with.
func (s *Sink) Name() string { return s.name }

// String describes the sink by its name and its URL's scheme and host, so
// that printing a Sink, with %v, %+v or %#v, cannot reveal its secret, its
// headers or a credential in its URL.
func (s *Sink) String() string { return fmt.Sprintf("webhook sink %q (%s)", s.name, s.target) }

// GoString is String.
func (s *Sink) GoString() string { return s.String() }

// Send posts m as a Payload to the configured URL, or to the URL of a
// Recipient whose host is allowed. The webhook-id is sinks.DeliveryID(ctx)
// (see the package doc). The error says whether a retry may help (see
// sinks.IsTransient) and names the endpoint by its scheme and host only.
func (s *Sink) Send(ctx context.Context, to sinks.Recipient, m sinks.Message) error {
	target, err := s.resolve(to)
	if err != nil {
		return sinks.Terminal(err)
	}
	id := messageID(sinks.DeliveryID(ctx))
	body, err := encodePayload(id, m)
	if err != nil {
		return sinks.Terminal(sinks.Errorf(sinks.CodeInvalidArgument, "webhook.Send", "cannot encode the message: %w", err))
	}
	header, keys, client := s.header, s.keys, s.client
	if !target.configured {
		header, keys, client = perCallHeader, s.recipientKeysFor(target.url), s.perCall
	}
	header = header.Clone()
	header.Set(HeaderID, id)
	now := time.Now()
	header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	if len(keys) > 0 {
		header.Set(HeaderSignature, Sign(keys, id, now, body))
	}
	err = httpsink.Post(ctx, client, httpsink.Request{
		URL: target.url, Header: header, Body: body, Target: target.text,
	})
	var refused *netguard.AddressError
	switch {
	case errors.As(err, &refused):
		// Named without the address, which the caller should not learn.
		return sinks.Terminal(sinks.Errorf(sinks.CodeInvalidArgument, "webhook.Send",
			"sink %q: recipient URL %s refused: %w", s.name, target.text, refused))
	case err != nil:
		return sinks.Errorf(sinks.CodeSinkUnavailable, "webhook.Send", "sink %q: %w", s.name, err)
	}
	return nil
}

type destination struct {
	url        *url.URL
	text       string
	configured bool // url is Config.URL, not a per-call one
}

// perCallHeader is the header of a request to a per-call URL, before the
// webhook-* headers: none of Config.Headers.
var perCallHeader = http.Header{"Content-Type": {"application/json"}}

// resolve checks the per-call recipient against the allowlist.
func (s *Sink) resolve(to sinks.Recipient) (destination, error) {
	raw, err := s.recipientURL(to)
	if err != nil {
		return destination{}, err
	}
	if raw == "" {
		return destination{s.url, s.target, true}, nil
	}
	u, err := parseEndpoint(raw)
	if err != nil {
		return destination{}, sinks.Errorf(sinks.CodeInvalidArgument, "webhook.Send",
			"sink %q: recipient URL: %s", s.name, err.Error())
	}
	text := httpsink.Redact(u)
	if len(s.allow) == 0 {
		return destination{}, sinks.Errorf(sinks.CodeInvalidArgument, "webhook.Send",
			"sink %q: recipient URL %s refused: per-call URLs are disabled (allow_recipient_hosts is empty)", s.name, text)
	}
	for _, r := range s.allow {
		if r.match(u) {
			return destination{u, text, false}, nil
		}
	}
	return destination{}, sinks.Errorf(sinks.CodeInvalidArgument, "webhook.Send",
		"sink %q: recipient URL %s refused: host %q is not in allow_recipient_hosts", s.name, text, u.Host)
}

// SetConcurrency holds the sink to n connections per host and keeps them
// open when idle, so that n sends in flight reuse them (unless
// Config.Transport was given). It implements
// sinks.ConcurrencyAware; call it before the sink is used.
func (s *Sink) SetConcurrency(n int) {
	httpsink.SetConcurrency(s.client, n, s.ownTransport)
	if s.perCall != s.client {
		httpsink.SetConcurrency(s.perCall, n, s.ownTransport)
	}
}

// Close closes the sink's idle connections. The sink stays usable.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	s.perCall.CloseIdleConnections()
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
