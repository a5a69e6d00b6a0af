package sinks

import (
	"bytes"
	"encoding/json"
)

// NoRecipient reports whether raw, a recipient as JSON, names none: it is
// nil or empty, only white space, or the JSON literal null. This is the one
// rule for "no per-call recipient" (see DecodeRecipient); a sink whose Send
// is handed a json.RawMessage applies it too.
func NoRecipient(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// DecodeRecipient turns raw, a recipient as JSON (in a request, a DLQ item
// or a queued task), into the typed Recipient that s's Send takes. Every
// path that sends stored or received JSON calls it, so that all of them
// read a recipient the same way:
//
//   - When NoRecipient(raw), it returns nil, nil and calls no decoder: a
//     RecipientDecoder never receives an empty value or null, and Send
//     receives nil, which every sink takes as its configured target.
//   - When s, or a sink it wraps (through a Retrier or any wrapper with an
//     Unwrap() Sink method), has a RecipientDecoder, it returns what the
//     first one returns; a decoder's error is wrapped to match
//     ErrInvalidArgument.
//   - Otherwise it returns raw itself, a json.RawMessage for s to read.
func DecodeRecipient(s Sink, raw json.RawMessage) (Recipient, error) {
	if NoRecipient(raw) {
		return nil, nil
	}
	d, ok := findCapability[RecipientDecoder](s)
	if !ok {
		return raw, nil
	}
	to, err := d.DecodeRecipient(raw)
	if err != nil {
		return nil, Errorf(CodeInvalidArgument, "DecodeRecipient", "sink %q cannot decode the recipient: %w", s.Name(), err)
	}
	return to, nil
}
