package dlqtest

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dletter/dletter/sinks"
)

// testPreviews checks sinks.ListPreviews on the store (a store's own
// ListPreviews when it has one): bodies cut on a UTF-8 boundary with their
// whole size, pages that end at the byte budget with a cursor that goes on
// where they stopped, and filters that still see the whole body.
func testPreviews(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := newStore(t)
	bodies := map[string]string{}
	for i := 0; i < 12; i++ {
		it := item("hook", i)
		it.Message.Body = strings.Repeat("é", 1000) + " marker-" + strconv.Itoa(i)
		if i == 5 {
			it.Message.Body = "small"
		}
		bodies[add(t, st, it)] = it.Message.Body
	}
	whole, err := st.Items(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("CutBodies", func(t *testing.T) {
		page, next, err := sinks.ListPreviews(ctx, st, sinks.Filter{}, "", 0, sinks.PreviewOptions{BodyBytes: 101})
		if err != nil || next != "" || len(page) != len(whole) {
			t.Fatalf("ListPreviews = %d previews, next %q, %v; want %d, no cursor", len(page), next, err, len(whole))
		}
		for _, p := range page {
			full := bodies[p.ID]
			b := p.Message.Body
			if p.BodyBytes != len(full) || !strings.HasPrefix(full, b) || !utf8.ValidString(b) {
				t.Fatalf("preview of %s: body %q (%d bytes), BodyBytes %d; want a valid UTF-8 prefix of the %d-byte body", p.ID, b, len(b), p.BodyBytes, len(full))
			}
			if cut := len(full) > 101; p.BodyTruncated != cut || (cut && len(b) != 100) {
				t.Fatalf("preview of %s: truncated %v, %d bytes; want truncated %v and 100 bytes (50 two-byte runes)", p.ID, p.BodyTruncated, len(b), cut)
			}
		}
	})

	t.Run("PageBudget", func(t *testing.T) {
		// Items of one size: every store ends a page at the item that
		// spends the budget.
		st := newStore(t)
		for i := 0; i < 12; i++ {
			it := item("hook", i+10)
			it.Message.Body = strings.Repeat("x", 1000)
			add(t, st, it)
		}
		whole, err := st.Items(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		o := sinks.PreviewOptions{BodyBytes: 200, PageBytes: 1500}
		var got []string
		cursor, pages := "", 0
		for {
			page, next, err := sinks.ListPreviews(ctx, st, sinks.Filter{}, cursor, 10, o)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			sum := 0
			for i, p := range page {
				if i == len(page)-1 && next != "" && sum+p.Size() < o.PageBytes && len(page) < 10 {
					t.Fatalf("page %d ends at %d bytes with a cursor, under the budget of %d", pages, sum+p.Size(), o.PageBytes)
				}
				if sum >= o.PageBytes {
					t.Fatalf("page %d goes on past its budget: %d bytes before item %d", pages, sum, i)
				}
				sum += p.Size()
				got = append(got, p.ID)
			}
			if next == "" {
				break
			}
			if len(page) == 0 || pages > len(whole) {
				t.Fatalf("paging does not end (page %d of %d previews)", pages, len(page))
			}
			cursor = next
		}
		if !reflect.DeepEqual(got, ids(whole)) || pages < 3 {
			t.Fatalf("pages by budget gave %v in %d pages, want %v in several", got, pages, ids(whole))
		}
	})

	t.Run("FilterSeesWholeBody", func(t *testing.T) {
		page, _, err := sinks.ListPreviews(ctx, st, sinks.Filter{Contains: "MARKER-7"}, "", 10, sinks.PreviewOptions{})
		if err != nil || len(page) != 1 || !strings.HasSuffix(bodies[page[0].ID], "marker-7") || !page[0].BodyTruncated {
			t.Fatalf("Contains past the preview = %+v, %v", page, err)
		}
	})
}
