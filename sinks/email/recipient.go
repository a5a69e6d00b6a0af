package email

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/dletter/dletter/sinks"
)

// Recipient says who receives a message. Each entry is an address with an
// optional display name ("Ops <ops@example.com>"). Bcc addresses receive
// the message but appear in no header.
type Recipient struct {
	To  []string `json:"to,omitempty"`
	Cc  []string `json:"cc,omitempty"`
	Bcc []string `json:"bcc,omitempty"`
}

// empty reports whether r names no address.
func (r Recipient) empty() bool { return len(r.To)+len(r.Cc)+len(r.Bcc) == 0 }

// UnmarshalJSON accepts each list as a JSON array of strings or as a single
// string, and the field names in any case.
func (r *Recipient) UnmarshalJSON(b []byte) error {
	var raw struct {
		To, Cc, Bcc json.RawMessage
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var out Recipient
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *[]string
	}{{"to", raw.To, &out.To}, {"cc", raw.Cc, &out.Cc}, {"bcc", raw.Bcc, &out.Bcc}} {
		list, err := stringList(f.raw)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = list
	}
	*r = out
	return nil
}

// stringList decodes a string or an array of strings; an absent or null
// field is no address.
func stringList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var list []string
	if len(raw) > 0 && json.Unmarshal(raw, &list) != nil {
		return nil, fmt.Errorf("want a string or a list of strings")
	}
	return list, nil
}

// DecodeRecipient rebuilds the Recipient that a DLQ stored as JSON: an
// object {"to": [...], "cc": [...], "bcc": [...]}, or, for items stored by
// other producers, a single address or a list of addresses (taken as To).
// It implements sinks.RecipientDecoder; sinks.DecodeRecipient calls it
// with anything but an empty value or null, which mean Config.To (given
// them anyway, it returns a Recipient without addresses, which means the
// same).
func (s *Sink) DecodeRecipient(raw json.RawMessage) (sinks.Recipient, error) {
	raw = bytes.TrimSpace(raw)
	var r Recipient
	var err error
	if len(raw) > 0 && raw[0] == '{' {
		err = json.Unmarshal(raw, &r)
	} else {
		r.To, err = stringList(raw)
	}
	if err != nil {
		return nil, sinks.Errorf(sinks.CodeInvalidArgument, "email.DecodeRecipient",
			`want {"to": [...], "cc": [...], "bcc": [...]}: %w`, err)
	}
	return r, nil
}

// recipientOf converts what Send was given into a Recipient.
func (s *Sink) recipientOf(to sinks.Recipient) (Recipient, error) {
	switch r := to.(type) {
	case Recipient:
		return r, nil
	case *Recipient:
		if r != nil {
			return *r, nil
		}
	case string:
		return Recipient{To: []string{r}}, nil
	case []string:
		return Recipient{To: r}, nil
	case json.RawMessage:
		d, err := sinks.DecodeRecipient(s, r)
		if err != nil {
			return Recipient{}, err
		}
		if d != nil {
			return d.(Recipient), nil
		}
	case nil:
	default:
		return Recipient{}, fmt.Errorf("recipient must be an email.Recipient, got %T", to)
	}
	return Recipient{}, nil
}
