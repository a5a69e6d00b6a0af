package dlqtest

import (
	"context"
	"strconv"
	"sync"
	"testing"
)

func testConcurrent(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := newStore(t)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	idsCh := make(chan string, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sink := "sink-" + strconv.Itoa(w%3)
			for i := 0; i < each; i++ {
				id, err := st.Add(ctx, item(sink, w*each+i))
				if err != nil {
					t.Error(err)
					return
				}
				idsCh <- id
				if i%5 == 0 { // readers alongside the writers
					if _, err := st.Items(ctx, "", 10); err != nil {
						t.Error(err)
					}
					if _, err := st.Count(ctx, sink); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(idsCh)
	seen := map[string]bool{}
	for id := range idsCh {
		if seen[id] {
			t.Fatalf("ID %q assigned twice", id)
		}
		seen[id] = true
	}
	if len(seen) != writers*each || count(t, st, "") != writers*each {
		t.Fatalf("%d IDs, %d counted; want %d", len(seen), count(t, st, ""), writers*each)
	}
	items, err := st.Items(ctx, "", 0)
	if err != nil || len(items) != writers*each {
		t.Fatalf("Items: %d, %v", len(items), err)
	}
	for _, it := range items {
		if !seen[it.ID] {
			t.Fatalf("Items returned an unknown ID %q", it.ID)
		}
	}
}
