package dletter

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// Envelope is the JSON object written to disk for each failed item, one per
// line. It wraps the original payload with metadata. Lines may carry more
// fields than these: "id" (a 64-bit identifier that stays the same across
// re-logs, so at-least-once consumers can deduplicate) and "first" (the unix
// time of the first failure, written once an item has been re-logged).
// Decoding a line with encoding/json into an Envelope works.
type Envelope struct {
	// Timestamp is the unix time, in seconds, of the latest failure.
	Timestamp int64 `json:"ts"`
	// Reason is the error text of the latest failure.
	Reason string `json:"reason"`
	// Attempt is how many times the item has failed (1 after the first).
	Attempt int `json:"attempt"`
	// Payload is the item itself, as raw JSON.
	Payload RawPayload `json:"payload"`
}

// RawPayload is a raw JSON value that implements Loggable. Log writes it
// unchanged (compacted when it spans several lines); Replay hands payloads
// back as the same bytes.
type RawPayload []byte

// AppendLog appends the raw JSON to buf.
func (r RawPayload) AppendLog(buf []byte) []byte { return append(buf, r...) }

// MarshalJSON returns the raw JSON, or null for an empty payload.
func (r RawPayload) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON stores a copy of data.
func (r *RawPayload) UnmarshalJSON(data []byte) error {
	*r = append((*r)[0:0], data...)
	return nil
}

// Loggable is an optional interface for zero-allocation payload
// serialisation. If a value passed to Log implements Loggable, its AppendLog
// method is used instead of json.Marshal. AppendLog must append exactly one
// JSON value to buf and return the extended slice; Log rejects a value that
// is not valid JSON rather than write a line that could never be replayed.
// Pass a pointer (or a RawPayload) to keep Log free of allocations: Go boxes
// a non-pointer value when it converts it to an interface.
type Loggable interface {
	AppendLog(buf []byte) []byte
}

var errInvalidPayload = errors.New("payload is not a single valid JSON value")

// appendPayload appends data's JSON to buf. It validates what a Loggable or a
// RawPayload produced and compacts it when it holds a newline, which would
// otherwise split the record.
func appendPayload[T any](buf []byte, data T) ([]byte, error) {
	start := len(buf)
	if raw, ok := any(data).(RawPayload); ok {
		buf = append(buf, raw...)
	} else if raw, ok := any(data).(json.RawMessage); ok {
		buf = append(buf, raw...)
	} else if lg, ok := any(data).(Loggable); ok {
		buf = lg.AppendLog(buf)
	} else {
		b, err := json.Marshal(data)
		if err != nil {
			return buf[:start], err
		}
		return append(buf, b...), nil
	}
	p := buf[start:]
	if !validJSON(p) {
		return buf[:start], errInvalidPayload
	}
	if bytes.IndexByte(p, '\n') >= 0 || bytes.IndexByte(p, '\r') >= 0 {
		var c bytes.Buffer
		if err := json.Compact(&c, p); err != nil {
			return buf[:start], err
		}
		buf = append(buf[:start], c.Bytes()...)
	}
	return buf, nil
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s to buf as a quoted JSON string, escaping what
// JSON requires (invalid UTF-8 becomes U+FFFD), without allocating: the
// building block for a Loggable's AppendLog. The escapes are go-dletter
// v0.2.0's, byte for byte: \" \\ \n \r \t \b \f, and \u00XX for the other
// control characters; U+2028 and U+2029 are also written as \u2028 and
// \u2029.
func AppendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b': // as go-dletter wrote it, not \u0008, so old and new lines compare equal
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript readers.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
