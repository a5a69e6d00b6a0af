package sinks

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParseRecord feeds arbitrary lines to the FileDLQ log parser (a log
// on disk is outside input: damage, hand edits) and checks that what we
// write parses back.
func FuzzParseRecord(f *testing.F) {
	item, _, _ := encodeItem("fuzz", DLQItem{Sink: "mail", Message: Message{Subject: "s"}})
	add, _ := appendItemRecord(nil, opAdd, 7, 1767225600000000000, "mail", item)
	f.Add(add[:len(add)-1], "mail", uint64(7), int64(1), []byte(`{}`))
	f.Add(appendMarkRecord(nil, opDel, 3)[:11], "x", uint64(3), int64(-5), []byte(`{"a":"\u00e9"}`))
	f.Add(appendMetaRecord(nil, 9, 2), "sink \"quoted\"\n", uint64(1), int64(0), []byte(`[]`))
	f.Fuzz(func(t *testing.T, line []byte, sink string, seq uint64, at int64, data []byte) {
		intern := map[string]string{}
		_, _ = parseRecord(line, intern) // must not panic

		if seq == 0 || !json.Valid(data) {
			return
		}
		rec, start := appendItemRecord(nil, opUpd, seq, at, sink, data)
		got, ok := parseRecord(rec[:len(rec)-1], intern)
		if !ok || got.op != opUpd || got.seq != seq || got.at != at || got.itemStart != start {
			t.Fatalf("record %q parsed as %+v, %v", rec, got, ok)
		}
		if wantSink := string([]rune(sink)); got.sink != wantSink && json.Valid([]byte(`"`+sink+`"`)) {
			t.Fatalf("sink %q parsed as %q", sink, got.sink)
		}
		for _, op := range []string{opDel, opDrop} {
			m := appendMarkRecord(nil, op, seq)
			if got, ok := parseRecord(m[:len(m)-1], intern); !ok || got.op != op || got.seq != seq {
				t.Fatalf("mark %q parsed as %+v, %v", m, got, ok)
			}
		}
	})
}

// FuzzDecodeItem decodes arbitrary JSON as a DLQItem (the HTTP API and the
// stores read items from outside) and checks that a decoded item survives
// a round trip.
func FuzzDecodeItem(f *testing.F) {
	full, _ := json.Marshal(DLQItem{ID: "1", Sink: "s", Recipient: map[string]int{"a": 1}, Attempts: 2,
		History: []Attempt{{Error: "x"}}, Message: Message{Metadata: map[string]string{"k": "v"}}})
	f.Add(full)
	f.Add([]byte(`{"ID":"1","Sink":"capitalised","Message":{"Subject":"old API"}}`))
	f.Add([]byte(`{"recipient":null}`))
	f.Add([]byte(`{"recipient":"x","at":"not a time"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var it DLQItem
		if err := json.Unmarshal(data, &it); err != nil {
			return
		}
		out, err := json.Marshal(it)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", it, err)
		}
		var back DLQItem
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("decode %s: %v", out, err)
		}
		if !reflect.DeepEqual(normalizeItem(it), normalizeItem(back)) {
			t.Fatalf("round trip:\n%+v\n%+v", it, back)
		}
	})
}

func normalizeItem(it DLQItem) DLQItem {
	if raw, ok := it.Recipient.(json.RawMessage); ok {
		var v any
		_ = json.Unmarshal(raw, &v)
		it.Recipient = v
	}
	it.At, it.FirstFailedAt, it.LastFailedAt = it.At.UTC(), it.FirstFailedAt.UTC(), it.LastFailedAt.UTC()
	for i := range it.History {
		it.History[i].At = it.History[i].At.UTC()
	}
	if len(it.History) == 0 {
		it.History = nil
	}
	if len(it.Message.Metadata) == 0 {
		it.Message.Metadata = nil
	}
	return it
}

// FuzzDecodeRetryPolicy decodes arbitrary JSON as a retry: block; errors
// must be *ConfigError, and a policy that decodes gives sane configs.
func FuzzDecodeRetryPolicy(f *testing.F) {
	f.Add([]byte(`{"max_attempts":3,"base_backoff":"10ms","per_sink":{"a":{"jitter_fraction":0}}}`))
	f.Add([]byte(`{"max_backoff":5,"per_sink":{"a":[]}}`))
	f.Add([]byte(`{"base_backoff":"${NOPE}"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var raw map[string]any
		if json.Unmarshal(data, &raw) != nil {
			return
		}
		p, err := DecodeRetryPolicy(raw)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) && !errors.Is(err, ErrInternal) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		for _, name := range append([]string{"unknown"}, keysOf(p.PerSink)...) {
			c := p.For(name)
			if c.MaxAttempts < 1 || c.BaseBackoff <= 0 || c.BaseBackoff > c.MaxBackoff {
				t.Fatalf("For(%q) = %+v", name, c)
			}
			for n := 1; n < 70; n++ {
				if d := c.BackoffFor(n); d < 0 || d > c.MaxBackoff {
					t.Fatalf("BackoffFor(%d) = %v", n, d)
				}
			}
		}
	})
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
