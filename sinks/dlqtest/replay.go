package dlqtest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/dletter/dletter/sinks"
)

func testReplay(t *testing.T, newStore NewStore) {
	ctx := context.Background()

	t.Run("TypedRecipientAndDeliveryID", func(t *testing.T) {
		b := setupReplay(t, newStore)
		to := Address{Email: "ops@example.com", Name: "Ops"}
		id := b.deadLetter(t, to, "order 42 shipped", "order-42")

		it, err := b.st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if it.Attempts != 2 || it.DeliveryID != "order-42" || it.Sink != "mail" || len(it.History) != 2 {
			t.Fatalf("dead-lettered item %+v: want 2 attempts, delivery id order-42", it)
		}
		raw, ok := it.Recipient.(json.RawMessage)
		if !ok {
			t.Fatalf("stored recipient is %T, want json.RawMessage", it.Recipient)
		}
		var back Address
		if err := json.Unmarshal(raw, &back); err != nil || back != to {
			t.Fatalf("stored recipient %s: %v", raw, err)
		}

		if err := b.st.Replay(ctx, id); err != nil {
			t.Fatalf("Replay: %v", err)
		}
		d := b.mail.deliveries()
		if len(d) != 1 {
			t.Fatalf("%d deliveries, want 1", len(d))
		}
		if got, ok := d[0].to.(Address); !ok || got != to {
			t.Fatalf("replay delivered to %#v (%T), want the typed %#v", d[0].to, d[0].to, to)
		}
		if d[0].deliveryID != "order-42" || d[0].subject != "order 42 shipped" {
			t.Fatalf("replay delivery %+v", d[0])
		}
		// A successful replay keeps the item, as the original API does.
		if _, err := b.st.Get(ctx, id); err != nil {
			t.Fatalf("item gone after a successful replay: %v", err)
		}
		if n := count(t, b.st, ""); n != 1 {
			t.Fatalf("%d items after a successful replay, want 1", n)
		}
	})

	t.Run("FailureUpdatesInPlace", func(t *testing.T) {
		b := setupReplay(t, newStore)
		first := b.deadLetter(t, Address{Email: "a@example.com"}, "first", "d-1")
		id := b.deadLetter(t, Address{Email: "b@example.com"}, "second", "d-2")
		b.mail.fail("second")
		calls := b.mail.sendCalls()

		err := b.st.Replay(ctx, id)
		var re *sinks.ReplayError
		if !errors.As(err, &re) || !errors.Is(err, sinks.ErrSinkUnavailable) || re.ID != id {
			t.Fatalf("failed Replay = %v, want a *sinks.ReplayError for %s", err, id)
		}
		if got := b.mail.sendCalls() - calls; got != 2 {
			t.Fatalf("the replay made %d Send calls, want 2 (through the Retrier)", got)
		}
		if n := count(t, b.st, ""); n != 2 {
			t.Fatalf("%d items after a failed replay, want 2 (no duplicate pushed)", n)
		}
		it, err := b.st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if it.Attempts != 4 || it.Replays != 1 || len(it.History) != 4 || it.LastError != errMailDown.Error() || it.DeliveryID != "d-2" {
			t.Fatalf("after a failed replay: attempts %d, replays %d, history %d, last error %q; want 4, 1, 4, %q",
				it.Attempts, it.Replays, len(it.History), it.LastError, errMailDown)
		}
		items, err := b.st.Items(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 2 || items[0].ID != id || items[1].ID != first {
			t.Fatalf("order after a failed replay: %v, want [%s %s]", ids(items), id, first)
		}
	})

	t.Run("UnknownID", func(t *testing.T) {
		b := setupReplay(t, newStore)
		for _, id := range []string{"no-such-id", "", "123456789"} {
			if err := b.st.Replay(ctx, id); !errors.Is(err, sinks.ErrNotFound) {
				t.Errorf("Replay(%q) = %v, want ErrNotFound", id, err)
			}
		}
		id := add(t, b.st, item("mail", 1))
		if err := b.st.Discard(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := b.st.Replay(ctx, id); !errors.Is(err, sinks.ErrNotFound) {
			t.Errorf("Replay of a discarded item = %v, want ErrNotFound", err)
		}
	})

	t.Run("UnregisteredSink", func(t *testing.T) {
		b := setupReplay(t, newStore)
		id := add(t, b.st, item("gone", 1))
		err := b.st.Replay(ctx, id)
		if err == nil || !errors.Is(err, sinks.ErrSinkUnavailable) {
			t.Fatalf("Replay through an unregistered sink = %v, want ErrSinkUnavailable", err)
		}
		it, err := b.st.Get(ctx, id)
		if err != nil || it.Attempts != 1 || it.Replays != 0 {
			t.Fatalf("item changed by a replay that sent nothing: %+v, %v", it, err)
		}
	})
}
