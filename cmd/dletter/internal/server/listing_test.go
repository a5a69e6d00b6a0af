package server_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/dletter/dletter/sinks"
)

// TestItemsPageByteBudget: a page of GET /v1/dlq/items ends early, with a
// next cursor, once its items add up to the page budget (large subjects,
// not only bodies, weigh in); following the cursors gives every item once.
func TestItemsPageByteBudget(t *testing.T) {
	e := setup(t, setupOpts{})
	subject := strings.Repeat("s", 1<<20)
	want := map[string]bool{}
	for i := 0; i < 10; i++ {
		id, err := e.core.Store.Add(context.Background(), sinks.DLQItem{Sink: "hook",
			Message: sinks.Message{Subject: subject + strconv.Itoa(i), Body: strings.Repeat("b", 8000)}})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	cursor, pages := "", 0
	for {
		r := e.do("GET", "/v1/dlq/items?limit=10&cursor="+url.QueryEscape(cursor), "")
		var page struct {
			Items      []sinks.ItemPreview `json:"items"`
			NextCursor string              `json:"next_cursor"`
		}
		r.json(t, &page)
		pages++
		if len(r.body) > sinks.DefaultPageBytes+2<<20 {
			t.Fatalf("page %d is %d bytes, over the budget of %d by more than an item", pages, len(r.body), sinks.DefaultPageBytes)
		}
		for _, it := range page.Items {
			if !want[it.ID] || !it.BodyTruncated || it.BodyBytes != 8000 || len(it.Message.Body) != sinks.DefaultPreviewBytes {
				t.Fatalf("page %d: item %s seen twice, unknown, or not a preview (%d bytes)", pages, it.ID, len(it.Message.Body))
			}
			delete(want, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if len(page.Items) == 0 || pages > 10 {
			t.Fatalf("paging does not end (page %d)", pages)
		}
		cursor = page.NextCursor
	}
	if len(want) != 0 || pages < 3 {
		t.Fatalf("%d pages, items never listed: %v", pages, want)
	}
}
