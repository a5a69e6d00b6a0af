package sinktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dletter/dletter/sinks"
)

// testRecipients: no recipient decodes to nil; each sample survives a JSON
// round trip with its type and its JSON, and once decoded reaches the same
// place as before.
func testRecipients(t *testing.T, b *bench) {
	for _, raw := range []string{"", "null"} {
		if to, err := sinks.DecodeRecipient(b.s, json.RawMessage(raw)); to != nil || err != nil {
			t.Fatalf("sinktest: DecodeRecipient(%q) = %#v, %v; want nil, nil", raw, to, err)
		}
	}
	if b.samples == nil {
		t.Skip("sinktest: the sink takes no per-call recipient (see WithRecipients)")
	}
	for _, r := range b.samples(b.target) {
		back := roundTrip(t, b.s, r)
		if back == nil {
			continue
		}
		var places []string
		for _, to := range []sinks.Recipient{r, back} {
			err := b.s.Send(sinks.WithDeliveryID(context.Background(), newDeliveryID()), to, message(t))
			b.noSecret(t, "Send", err)
			if err != nil {
				t.Fatalf("sinktest: Send to %#v: %v", to, err)
			}
			places = append(places, b.r.Next(t).To)
		}
		if places[0] != places[1] {
			t.Errorf("sinktest: %#v reached %q, decoded from JSON it reached %q", r, places[0], places[1])
		}
	}
}

// roundTrip checks that r, as JSON, decodes through s to a value of r's
// type with the same JSON, and returns it.
func roundTrip(t *testing.T, s sinks.Sink, r sinks.Recipient) sinks.Recipient {
	t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("sinktest: recipient %#v is not JSON: %v", r, err)
	}
	back, err := sinks.DecodeRecipient(s, raw)
	if err != nil {
		t.Fatalf("sinktest: DecodeRecipient(%s): %v", raw, err)
	}
	again, err := json.Marshal(back)
	if err != nil || reflect.TypeOf(back) != reflect.TypeOf(r) || !bytes.Equal(again, raw) {
		t.Fatalf("sinktest: recipient %#v became %s, which decodes to %#v (%s)", r, raw, back, again)
	}
	return back
}

// testReplay: a message refused for good is dead-lettered, recipient and
// delivery id included, into a FileDLQ on disk, with a LastError that
// shows no secret; replayed once the far end accepts, it reaches the same
// place with the same delivery id. This for the configured target and each
// sample recipient.
func testReplay(t *testing.T, b *bench) {
	dlq, err := sinks.OpenFileDLQ(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dlq.Close() })
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq), sinks.WithRetryPolicy(sinks.RetryPolicy{}))
	if err := reg.Register(b.s); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, to := range b.recipients() {
		b.answer(t, Answer{Outcome: Terminal})
		id := newDeliveryID()
		err = reg.Send(sinks.WithDeliveryID(ctx, id), b.s.Name(), to, message(t))
		b.noSecret(t, "Registry.Send", err)
		var dl *sinks.DeadLetterError
		if !errors.As(err, &dl) {
			t.Fatalf("sinktest: a terminal refusal through a Registry gave %v; want a *sinks.DeadLetterError", err)
		}
		first := b.r.Next(t)
		item, err := dlq.Get(ctx, dl.ID)
		if err != nil {
			t.Fatal(err)
		}
		b.noSecretIn(t, "the DLQ item's LastError", item.LastError)

		b.answer(t, Answer{Outcome: Accept})
		err = dlq.Replay(ctx, dl.ID)
		b.noSecret(t, "Replay", err)
		if err != nil {
			t.Fatalf("sinktest: Replay of a message to %#v: %v", to, err)
		}
		again := b.r.Next(t)
		if again.To != first.To {
			t.Errorf("sinktest: the replay of a message to %#v reached %q, the first send %q", to, again.To, first.To)
		}
		if !b.noID && !strings.Contains(again.Raw, id) {
			t.Errorf("sinktest: the replay lacks the delivery id %q:\n%s", id, again.Raw)
		}
	}
}
