package dlqtest

import (
	"context"
	"testing"
)

func testStats(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := newStore(t)
	s, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Items != 0 || len(s.BySink) != 0 || s.Dropped != 0 {
		t.Fatalf("empty store stats %+v", s)
	}
	var hook []string
	for i := 0; i < 6; i++ {
		id := add(t, st, item([]string{"hook", "mail", "mail"}[i%3], i))
		if i%3 == 0 {
			hook = append(hook, id)
		}
	}
	if err := st.Discard(ctx, hook[0]); err != nil {
		t.Fatal(err)
	}
	s, err = st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Items != 5 || s.BySink["hook"] != 1 || s.BySink["mail"] != 4 || len(s.BySink) != 2 || s.Dropped != 0 {
		t.Fatalf("stats %+v: want 5 items, hook 1, mail 4, nothing dropped", s)
	}
	if s.Bytes < -1 {
		t.Fatalf("Bytes %d: want -1 (unknown) or a size", s.Bytes)
	}
}
