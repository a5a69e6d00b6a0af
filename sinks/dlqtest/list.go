package dlqtest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

func testList(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := newStore(t)
	var all, hook []string
	sinkOf := map[string]string{}
	for i := 0; i < 25; i++ {
		sink := "mail"
		it := item(sink, i)
		if i%3 == 0 {
			sink = "hook"
			it = item(sink, i)
			it.LastError = "HTTP status 503 Service Unavailable"
		}
		id := add(t, st, it)
		all = append(all, id)
		sinkOf[id] = sink
		if sink == "hook" {
			hook = append(hook, id)
		}
	}

	// pages lists every page of f with the given page size.
	pages := func(t *testing.T, f sinks.Filter, size int) ([]string, int) {
		t.Helper()
		var got []string
		cursor, n := "", 0
		for {
			page, next, err := st.List(ctx, f, cursor, size)
			if err != nil {
				t.Fatalf("List(%+v, %q, %d): %v", f, cursor, size, err)
			}
			if len(page) > size {
				t.Fatalf("page of %d items for limit %d", len(page), size)
			}
			got = append(got, ids(page)...)
			n++
			if next == "" {
				return got, n
			}
			if len(page) == 0 {
				t.Fatal("an empty page with a next cursor")
			}
			if n > 100 {
				t.Fatal("paging does not end")
			}
			cursor = next
		}
	}

	t.Run("CursorPaging", func(t *testing.T) {
		whole, err := st.Items(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, "Items(all)", ids(whole), all, sinkOf)
		got, n := pages(t, sinks.Filter{}, 10)
		if !reflect.DeepEqual(got, ids(whole)) || n > 4 {
			t.Fatalf("pages of 10 gave %v in %d pages, want Items' %v in 3", got, n, ids(whole))
		}
		got, _ = pages(t, sinks.Filter{}, 25)
		if !reflect.DeepEqual(got, ids(whole)) {
			t.Fatalf("one page of 25: %v", got)
		}
		got, _ = pages(t, sinks.Filter{}, 1)
		if !reflect.DeepEqual(got, ids(whole)) {
			t.Fatalf("pages of 1: %v", got)
		}
		page, next, err := st.List(ctx, sinks.Filter{}, "", 0)
		if err != nil || next != "" || !reflect.DeepEqual(ids(page), ids(whole)) {
			t.Fatalf("List with limit 0 = %d items, next %q, %v: want all, no cursor", len(page), next, err)
		}
	})

	t.Run("FilterSink", func(t *testing.T) {
		got, _ := pages(t, sinks.Filter{Sink: "hook"}, 4)
		if !reflect.DeepEqual(got, reversed(hook)) {
			t.Fatalf("hook pages = %v, want %v", got, reversed(hook))
		}
	})

	t.Run("FilterContains", func(t *testing.T) {
		got, _ := pages(t, sinks.Filter{Contains: "status 503"}, 3)
		if !reflect.DeepEqual(got, reversed(hook)) {
			t.Fatalf("Contains pages = %v, want %v", got, reversed(hook))
		}
		got, _ = pages(t, sinks.Filter{Contains: "SUBJECT 7"}, 3)
		if len(got) != 1 || got[0] != all[7] {
			t.Fatalf("Contains subject, any case = %v, want [%s]", got, all[7])
		}
	})

	t.Run("FilterTime", func(t *testing.T) {
		f := sinks.Filter{Since: base.Add(5 * time.Second), Until: base.Add(15 * time.Second)}
		got, _ := pages(t, f, 4)
		checkOrder(t, "time range", got, all[5:15], sinkOf)
		got, _ = pages(t, sinks.Filter{Sink: "mail", Since: base.Add(20 * time.Second)}, 2)
		want := []string{all[23], all[22], all[20]}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("mail since 20s = %v, want %v", got, want)
		}
	})

	t.Run("CursorSurvivesDiscard", func(t *testing.T) {
		st := newStore(t)
		var pushed []string
		for i := 0; i < 6; i++ {
			pushed = append(pushed, add(t, st, item("hook", i)))
		}
		page, next, err := st.List(ctx, sinks.Filter{}, "", 2)
		if err != nil || next == "" {
			t.Fatalf("first page: %v, next %q", err, next)
		}
		// The item the cursor points at goes away before the next page.
		if err := st.Discard(ctx, page[len(page)-1].ID); err != nil {
			t.Fatal(err)
		}
		rest, _, err := st.List(ctx, sinks.Filter{}, next, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := reversed(pushed[:4]); !reflect.DeepEqual(ids(rest), want) {
			t.Fatalf("after the cursor's item went: %v, want %v", ids(rest), want)
		}
	})

	t.Run("MalformedCursor", func(t *testing.T) {
		_, _, err := st.List(ctx, sinks.Filter{}, "not a cursor!", 10)
		if !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Fatalf("List with a malformed cursor = %v, want ErrInvalidArgument", err)
		}
	})
}

func testUpdate(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := newStore(t)
	var pushed []string
	for i := 0; i < 5; i++ {
		pushed = append(pushed, add(t, st, item("hook", i)))
	}
	it, err := st.Get(ctx, pushed[1])
	if err != nil {
		t.Fatal(err)
	}
	it.RecordFailure(base.Add(time.Hour), errors.New("still down"))
	it.Replays++
	if err := st.Update(ctx, it); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err := st.Get(ctx, pushed[1])
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempts != 2 || got.LastError != "still down" || got.Replays != 1 || len(got.History) != 1 ||
		!got.LastFailedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("after Update: %+v", got)
	}
	items, err := st.Items(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids(items), reversed(pushed)) {
		t.Fatalf("Update moved the item: %v, want %v", ids(items), reversed(pushed))
	}
	if n := count(t, st, ""); n != 5 {
		t.Fatalf("Update changed the count to %d", n)
	}
	missing := it
	missing.ID = "no-such-id"
	if err := st.Update(ctx, missing); !errors.Is(err, sinks.ErrNotFound) {
		t.Fatalf("Update of a missing id = %v, want ErrNotFound", err)
	}
	if err := st.Discard(ctx, pushed[1]); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, it); !errors.Is(err, sinks.ErrNotFound) {
		t.Fatalf("Update of a discarded item = %v, want ErrNotFound", err)
	}
}
