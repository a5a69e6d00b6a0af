package dlqtest

import (
	"context"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func testPush(t *testing.T, newStore NewStore) {
	ctx := context.Background()

	t.Run("AssignsUniqueIDs", func(t *testing.T) {
		st := newStore(t)
		seen := map[string]bool{}
		for i := 0; i < 20; i++ {
			it := item("hook", i)
			it.ID = "caller-chosen" // Push assigns the ID, whatever the caller set
			var id string
			if i%2 == 0 {
				id = add(t, st, it)
			} else {
				if err := st.Push(ctx, it); err != nil {
					t.Fatal(err)
				}
				items, err := st.Items(ctx, "hook", 1)
				if err != nil || len(items) != 1 {
					t.Fatalf("Items after Push: %v, %v", items, err)
				}
				id = items[0].ID
			}
			if id == "" || id == "caller-chosen" || seen[id] {
				t.Fatalf("item %d got ID %q (seen before: %v)", i, id, seen[id])
			}
			seen[id] = true
			got, err := st.Get(ctx, id)
			if err != nil || got.ID != id || got.Message.Subject != it.Message.Subject {
				t.Fatalf("Get(%q) = %+v, %v", id, got, err)
			}
		}
	})

	t.Run("NewestFirst", func(t *testing.T) {
		st := newStore(t)
		var all, hook []string
		sinkOf := map[string]string{}
		for i := 0; i < 12; i++ {
			sink := []string{"hook", "mail", "chat"}[i%3]
			id := add(t, st, item(sink, i))
			all = append(all, id)
			sinkOf[id] = sink
			if sink == "hook" {
				hook = append(hook, id)
			}
		}
		items, err := st.Items(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, "Items(all)", ids(items), all, sinkOf)
		items, err = st.Items(ctx, "hook", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(items); !reflect.DeepEqual(got, reversed(hook)) {
			t.Fatalf("Items(hook) = %v, want %v", got, reversed(hook))
		}
		for _, it := range items {
			if it.Sink != "hook" {
				t.Fatalf("Items(hook) returned an item of %q", it.Sink)
			}
		}
	})

	t.Run("CrossSinkOrder", func(t *testing.T) {
		// Pushes in different milliseconds come back newest first across
		// sinks too: the order across sinks is promised to the millisecond
		// (a RedisDLQ's stream IDs are its server's clock in milliseconds).
		st := newStore(t)
		var pushed []string
		for i, sink := range []string{"hook", "mail", "hook", "chat"} {
			if i > 0 {
				nextMillisecond()
			}
			pushed = append(pushed, add(t, st, item(sink, i)))
		}
		items, err := st.Items(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(items); !reflect.DeepEqual(got, reversed(pushed)) {
			t.Fatalf("Items(all) = %v, want %v", got, reversed(pushed))
		}
	})

	t.Run("Limits", func(t *testing.T) {
		st := newStore(t)
		var pushed []string
		for i := 0; i < 10; i++ {
			pushed = append(pushed, add(t, st, item("hook", i)))
		}
		newest := reversed(pushed)
		for _, c := range []struct{ limit, want int }{{1, 1}, {3, 3}, {10, 10}, {50, 10}, {0, 10}, {-1, 10}} {
			items, err := st.Items(ctx, "hook", c.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(items); !reflect.DeepEqual(got, newest[:c.want]) {
				t.Errorf("Items(hook, %d) = %v, want %v", c.limit, got, newest[:c.want])
			}
		}
		if items, err := st.Items(ctx, "nobody", 5); err != nil || len(items) != 0 {
			t.Fatalf("Items of an unknown sink: %v, %v", items, err)
		}
	})

	t.Run("Counts", func(t *testing.T) {
		st := newStore(t)
		if n := count(t, st, ""); n != 0 {
			t.Fatalf("empty store counts %d", n)
		}
		for i := 0; i < 7; i++ {
			add(t, st, item("sink-"+strconv.Itoa(i%2), i))
		}
		if a, b, all, none := count(t, st, "sink-0"), count(t, st, "sink-1"), count(t, st, ""), count(t, st, "nobody"); a != 4 || b != 3 || all != 7 || none != 0 {
			t.Fatalf("counts sink-0=%d sink-1=%d all=%d nobody=%d; want 4 3 7 0", a, b, all, none)
		}
	})
}

// nextMillisecond returns once the clock reads a later millisecond than at
// the call, so that a push made after it is stamped later, to the
// millisecond, than one that returned before it (on a store whose clock is
// this machine's).
func nextMillisecond() {
	for ms := time.Now().UnixMilli(); time.Now().UnixMilli() <= ms; {
		runtime.Gosched()
	}
}
