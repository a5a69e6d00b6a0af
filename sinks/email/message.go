package email

import (
	"fmt"
	"net/mail"
	"net/textproto"
	"slices"
	"sort"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/dletter/dletter/sinks"
)

// hasLineBreak reports whether s holds a CR or LF, which in a header would
// start a new header line.
func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// invalid describes why the sink refuses to build a message; Send makes it
// a terminal invalid-argument error.
func invalid(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// parseAddress parses one address with an optional display name, refusing
// line breaks.
func parseAddress(field, s string) (*mail.Address, error) {
	if hasLineBreak(s) {
		return nil, invalid("%s address %q contains a line break", field, s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, invalid("%s address %q: %v", field, s, err)
	}
	return a, nil
}

func parseAddresses(field string, list []string) ([]*mail.Address, error) {
	out := make([]*mail.Address, 0, len(list))
	for _, s := range list {
		a, err := parseAddress(field, s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// metadataHeader returns the header name for a metadata key: "X-" and the
// key in canonical form, unless the key already starts with "X-".
func metadataHeader(key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("empty metadata key")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("metadata key %q is not a header name (letters, digits, '-', '_' and '.' only)", key)
		}
	}
	if len(key) < 2 || !strings.EqualFold(key[:2], "x-") {
		key = "X-" + key
	}
	return textproto.CanonicalMIMEHeaderKey(key), nil
}

// buildMessage turns m into the message to send, or returns a terminal
// error when m cannot be sent safely or policy (nil for the configured
// recipient) refuses one of its addresses.
func (s *Sink) buildMessage(rcpt Recipient, policy *recipientPolicy, m sinks.Message, deliveryID string, now time.Time) (*gomail.Msg, error) {
	if hasLineBreak(m.Subject) {
		return nil, invalid("subject contains a line break")
	}
	to, err := parseAddresses("to", rcpt.To)
	if err != nil {
		return nil, err
	}
	cc, err := parseAddresses("cc", rcpt.Cc)
	if err != nil {
		return nil, err
	}
	bcc, err := parseAddresses("bcc", rcpt.Bcc)
	if err != nil {
		return nil, err
	}
	if len(to)+len(cc)+len(bcc) == 0 {
		return nil, invalid("the recipient has no address (want an email.Recipient with To, Cc or Bcc, or configure to)")
	}
	if policy != nil {
		if err := policy.check(slices.Concat(to, cc, bcc)); err != nil {
			return nil, err
		}
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, err := metadataHeader(k)
		if err != nil {
			return nil, invalid("%v", err)
		}
		if hasLineBreak(m.Metadata[k]) {
			return nil, invalid("metadata %q contains a line break", k)
		}
		msg.SetGenHeader(gomail.Header(name), m.Metadata[k])
	}
	msg.FromMailAddress(s.from)
	if len(to) > 0 {
		msg.ToMailAddress(to...)
	}
	if len(cc) > 0 {
		msg.CcMailAddress(cc...)
	}
	if len(bcc) > 0 {
		msg.BccMailAddress(bcc...)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(messageID(deliveryID, s.domain))
	text, html := bodyParts(m.Body)
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}
