package dlqtest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// fullItem sets every field of DLQItem.
func fullItem() sinks.DLQItem {
	t0 := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	return sinks.DLQItem{
		Sink:      "mail",
		At:        t0.Add(time.Minute),
		Recipient: Address{Email: "ops@example.com", Name: "Ops \"on call\" ✓"},
		Message: sinks.Message{
			Subject:  "Ünïcode subject\twith tab",
			Body:     "<p>line 1</p>\nline 2 \u2028 {\"json\": true}",
			Metadata: map[string]string{"X-Trace": "abc", "empty": ""},
		},
		Attempts:      7,
		LastError:     "http status 503 Service Unavailable: \"busy\"\n",
		FirstFailedAt: t0,
		LastFailedAt:  t0.Add(30 * time.Second),
		History: []sinks.Attempt{
			{At: t0, Error: "dial tcp: connection refused"},
			{At: t0.Add(30 * time.Second), Error: "http status 503"},
		},
		Replays:    2,
		DeliveryID: "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
	}
}

func testRoundTrip(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := newStore(t)
	want := fullItem()
	id := add(t, st, want)
	want.ID = id

	check := func(t *testing.T, what string, got sinks.DLQItem) {
		t.Helper()
		raw, ok := got.Recipient.(json.RawMessage)
		if !ok {
			t.Fatalf("%s: recipient is %T, want json.RawMessage", what, got.Recipient)
		}
		var to Address
		if err := json.Unmarshal(raw, &to); err != nil || to != want.Recipient {
			t.Fatalf("%s: recipient %s (%v), want %+v", what, raw, err, want.Recipient)
		}
		g, w := got, want
		g.Recipient, w.Recipient = nil, nil
		if !g.At.Equal(w.At) || !g.FirstFailedAt.Equal(w.FirstFailedAt) || !g.LastFailedAt.Equal(w.LastFailedAt) {
			t.Fatalf("%s: times %v %v %v, want %v %v %v", what, g.At, g.FirstFailedAt, g.LastFailedAt, w.At, w.FirstFailedAt, w.LastFailedAt)
		}
		g.At, g.FirstFailedAt, g.LastFailedAt = w.At, w.FirstFailedAt, w.LastFailedAt
		if len(g.History) == len(w.History) {
			for i := range g.History {
				if !g.History[i].At.Equal(w.History[i].At) {
					t.Fatalf("%s: history time %d: %v, want %v", what, i, g.History[i].At, w.History[i].At)
				}
				g.History[i].At = w.History[i].At
			}
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
		}
	}

	got, err := st.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "Get", got)
	items, err := st.Items(ctx, "mail", 1)
	if err != nil || len(items) != 1 {
		t.Fatalf("Items: %v, %v", items, err)
	}
	check(t, "Items", items[0])

	// The item marshals to JSON with the original API's names and back.
	data, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "sink", "at", "recipient", "message", "attempts", "last_error",
		"first_failed_at", "last_failed_at", "history", "replays", "delivery_id"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("JSON of an item lacks %q: %s", k, data)
		}
	}
	var back sinks.DLQItem
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	check(t, "JSON round trip", back)

	// What a store returns is a copy: changing it changes nothing stored.
	got.Message.Metadata["X-Trace"] = "changed"
	got.History[0].Error = "changed"
	if raw, ok := got.Recipient.(json.RawMessage); ok && len(raw) > 0 {
		raw[0] = ' '
	}
	again, err := st.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "Get after changing a returned copy", again)

	// An item without recipient or metadata comes back without them.
	bare := sinks.DLQItem{Sink: "mail", At: want.At, Message: sinks.Message{Body: "b"}, Attempts: 1, LastError: "x"}
	bid := add(t, st, bare)
	b, err := st.Get(ctx, bid)
	if err != nil {
		t.Fatal(err)
	}
	if b.Recipient != nil || len(b.Message.Metadata) != 0 || len(b.History) != 0 {
		if raw, ok := b.Recipient.(json.RawMessage); !ok || (len(raw) != 0 && string(raw) != "null") {
			t.Fatalf("bare item came back with %#v, %v, %v", b.Recipient, b.Message.Metadata, b.History)
		}
	}
}
