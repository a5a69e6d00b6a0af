package webhook

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/dletter/dletter/sinks"
)

// Recipient overrides the configured URL for one Send. It is honoured only
// for hosts the configuration allows (allow_recipient_hosts), since
// otherwise any caller could aim the sink at any address.
type Recipient struct {
	URL string `json:"url"`
}

// DecodeRecipient rebuilds the Recipient that a DLQ stored as JSON:
// {"url": ...} or a bare URL string. It implements sinks.RecipientDecoder;
// sinks.DecodeRecipient calls it with anything but an empty value or null,
// which mean the configured URL (given null anyway, it returns a Recipient
// without a URL, which means the same).
func (s *Sink) DecodeRecipient(raw json.RawMessage) (sinks.Recipient, error) {
	var r Recipient
	if err := json.Unmarshal(raw, &r); err != nil {
		// A bare JSON string is taken as the URL.
		var u string
		if json.Unmarshal(raw, &u) != nil {
			return nil, sinks.Errorf(sinks.CodeInvalidArgument, "webhook.DecodeRecipient",
				"want {\"url\": ...}: %w", err)
		}
		r.URL = u
	}
	return r, nil
}

// recipientURL returns the URL the message goes to: "" means the
// configured one.
func (s *Sink) recipientURL(to sinks.Recipient) (string, error) {
	switch r := to.(type) {
	case nil:
		return "", nil
	case Recipient:
		return r.URL, nil
	case *Recipient:
		if r == nil {
			return "", nil
		}
		return r.URL, nil
	case string:
		return r, nil
	case json.RawMessage:
		d, err := sinks.DecodeRecipient(s, r)
		if err != nil || d == nil {
			return "", err
		}
		return d.(Recipient).URL, nil
	}
	return "", sinks.Errorf(sinks.CodeInvalidArgument, "webhook.Send",
		"recipient must be a webhook.Recipient, got %T", to)
}

// hostRule is one entry of allow_recipient_hosts: "example.com" (any port),
// "example.com:8443" (that port only) or "*.example.com" (any subdomain,
// not the domain itself).
type hostRule struct {
	host     string // lower case, without "*."
	port     string // "" for any
	wildcard bool
}

func parseHostRule(s string) (hostRule, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	var r hostRule
	if strings.HasPrefix(s, "*.") {
		r.wildcard = true
		s = s[2:]
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		r.host, r.port = h, p
	} else {
		r.host = strings.Trim(s, "[]")
	}
	if !validHost(r.host) || !validPort(r.port) {
		return hostRule{}, fmt.Errorf("want a host such as api.example.com, api.example.com:8443 or *.example.com")
	}
	return r, nil
}

func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':' || c == '_') {
			return false
		}
	}
	return true
}

func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

func (r hostRule) match(u *url.URL) bool {
	if r.port != "" && r.port != effectivePort(u) {
		return false
	}
	return r.matchHost(strings.ToLower(u.Hostname()))
}

// matchHost reports whether host (lower case) is r's host, or one of its
// subdomains for a wildcard rule.
func (r hostRule) matchHost(host string) bool {
	if r.wildcard {
		return strings.HasSuffix(host, "."+r.host)
	}
	return host == r.host
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// parseEndpoint checks that raw is an absolute http or https URL.
func parseEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("want an http or https URL")
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("the URL has no host")
	}
	return u, nil
}
