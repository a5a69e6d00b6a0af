package dlqtest

import (
	"context"
	"errors"
	"testing"

	"github.com/dletter/dletter/sinks"
)

func testDiscard(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := newStore(t)
	var pushed []string
	sinkOf := map[string]string{}
	for i := 0; i < 5; i++ {
		sink := []string{"hook", "mail"}[i%2]
		id := add(t, st, item(sink, i))
		pushed = append(pushed, id)
		sinkOf[id] = sink
	}
	victim := pushed[2] // a hook item in the middle
	if err := st.Discard(ctx, victim); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	if _, err := st.Get(ctx, victim); !errors.Is(err, sinks.ErrNotFound) {
		t.Fatalf("Get after Discard = %v, want ErrNotFound", err)
	}
	if n, h := count(t, st, ""), count(t, st, "hook"); n != 4 || h != 2 {
		t.Fatalf("after Discard: %d items, %d of hook; want 4, 2", n, h)
	}
	items, err := st.Items(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, "Items after Discard", ids(items), []string{pushed[0], pushed[1], pushed[3], pushed[4]}, sinkOf)
	// Discard is idempotent, and a missing or malformed id is not an error.
	for _, id := range []string{victim, "no-such-id", "", "999999999-0", "../x"} {
		if err := st.Discard(ctx, id); err != nil {
			t.Errorf("Discard(%q) = %v, want nil", id, err)
		}
	}
	if n := count(t, st, ""); n != 4 {
		t.Fatalf("count changed to %d by discarding missing ids", n)
	}
	// Discarding everything leaves an empty store that takes new items.
	for _, id := range pushed {
		if err := st.Discard(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, st, ""); n != 0 {
		t.Fatalf("%d items after discarding all", n)
	}
	id := add(t, st, item("hook", 9))
	for _, old := range pushed {
		if id == old {
			t.Fatalf("a discarded item's ID %q was reused", id)
		}
	}
}
