package dletter

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeLine feeds arbitrary lines to the decoder Replay uses. It must
// never panic, and it must accept only what encoding/json accepts, finding
// the same fields.
func FuzzDecodeLine(f *testing.F) {
	f.Add([]byte(`{"ts":1700000000,"attempt":1,"reason":"db timeout","payload":{"id":"ord-42"}}`))
	f.Add([]byte(`{"payload":null}`))
	f.Add([]byte(`{"ts":1,"reason":"a\"b\\u00e9","attempt":2,"id":"x","first":0,"payload":[1,{"a":[]}],"extra":true}`))
	f.Add([]byte(`{"ts":1.5e3,"attempt":-1,"payload":"s"}`))
	f.Add([]byte("\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := decodeLine(line)
		if err != nil {
			return
		}
		if !json.Valid(line) {
			t.Fatalf("decoder accepted invalid JSON %q", line)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("decoder accepted %q that encoding/json rejects: %v", line, err)
		}
		if p, ok := m["payload"]; !ok || !bytes.Equal(p, rec.payload) {
			t.Fatalf("payload %q, encoding/json finds %q", rec.payload, p)
		}
		if r, ok := m["reason"]; ok && !bytes.Equal(r, rec.reason) {
			t.Fatalf("reason %q, encoding/json finds %q", rec.reason, r)
		}
		if rec.attempt < 0 || rec.attempt > maxAttempt {
			t.Fatalf("attempt %d out of range", rec.attempt)
		}
		_ = rec.reasonString()
		_ = rec.idString()
	})
}

// FuzzLineRoundTrip checks that every line Log writes is one valid JSON line
// that the decoder and encoding/json read back the same way.
func FuzzLineRoundTrip(f *testing.F) {
	f.Add("db timeout", 1, []byte(`{"id":"ord-42"}`))
	f.Add("multi\nline \x00 \xff \u2028", -7, []byte("[1,\n 2]"))
	f.Add("", 1<<40, []byte(`"\u00e9"`))
	f.Fuzz(func(t *testing.T, reason string, attempt int, payload []byte) {
		buf := appendHeader(nil, &line{ts: 1700000000, attempt: clampAttempt(attempt), reason: reason})
		buf, err := appendPayload(buf, RawPayload(payload))
		if err != nil {
			if validJSON(payload) && json.Valid(payload) {
				t.Fatalf("valid payload %q rejected: %v", payload, err)
			}
			return
		}
		buf = append(buf, '}')
		if bytes.ContainsAny(buf, "\n\r") {
			t.Fatalf("line contains a line break: %q", buf)
		}
		if !json.Valid(buf) {
			t.Fatalf("wrote invalid JSON %q", buf)
		}
		rec, err := decodeLine(buf)
		if err != nil {
			t.Fatalf("cannot decode our own line %q: %v", buf, err)
		}
		var env Envelope
		if err := json.Unmarshal(buf, &env); err != nil {
			t.Fatal(err)
		}
		if rec.reasonString() != env.Reason || rec.attempt != env.Attempt || rec.ts != env.Timestamp {
			t.Fatalf("decoder read %q/%d, encoding/json %q/%d", rec.reasonString(), rec.attempt, env.Reason, env.Attempt)
		}
		var a, b any
		if json.Unmarshal(payload, &a) == nil && json.Unmarshal(rec.payload, &b) == nil {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Fatalf("payload changed: %s -> %s", payload, rec.payload)
			}
		}
	})
}
