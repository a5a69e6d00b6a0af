// Package dlqtest is the conformance suite of sinks.Store: every DLQ backend
// (MemoryDLQ, FileDLQ, RedisDLQ, or your own) runs it from a test:
//
//	func TestConformance(t *testing.T) {
//		dlqtest.Run(t, func(t *testing.T) sinks.Store {
//			st := openMyStore(t)
//			t.Cleanup(func() { st.Close() })
//			return st
//		})
//	}
//
// newStore must return an empty, unbounded (or large: a few thousand items)
// store for each call; the suite closes stores itself only in its Close
// test, and Close is idempotent, so a cleanup that closes again is fine.
//
// The suite checks the semantics documented on sinks.DLQ and sinks.Store:
// ID assignment, newest-first order, limits, per-sink and total counts,
// idempotent Discard, Replay through a Registry with the typed recipient
// rebuilt by RecipientDecoder, unknown ids, List with a Filter and cursor
// paging, Update keeping order, Stats, Redrive (dry run, max, rate,
// cancellation), leases of a sinks.Leaser (concurrent replays of one item
// send it once and the others get sinks.ErrBusy; a lease is released after
// the replay, renewed while held, and free again one TTL after its holder
// stopped; a store that is not a Leaser skips these), concurrent pushes
// (run it under -race), a JSON round trip of every DLQItem field, and
// Close. Changing a backend's semantics means growing this suite.
package dlqtest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// NewStore returns an empty store for one test.
type NewStore func(t *testing.T) sinks.Store

// Run runs the whole suite against the stores newStore makes.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	t.Run("Push", func(t *testing.T) { testPush(t, newStore) })
	t.Run("Discard", func(t *testing.T) { testDiscard(t, newStore) })
	t.Run("List", func(t *testing.T) { testList(t, newStore) })
	t.Run("ListPreviews", func(t *testing.T) { testPreviews(t, newStore) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, newStore) })
	t.Run("Stats", func(t *testing.T) { testStats(t, newStore) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore) })
	t.Run("Replay", func(t *testing.T) { testReplay(t, newStore) })
	t.Run("Redrive", func(t *testing.T) { testRedrive(t, newStore) })
	t.Run("Lease", func(t *testing.T) { testLease(t, newStore) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore) })
	t.Run("Close", func(t *testing.T) { testClose(t, newStore) })
}

// base is the At of the first item the suite pushes; later items are a
// second apart, so that push order and time order agree.
var base = time.Date(2026, 2, 3, 4, 5, 6, 789_000_000, time.UTC)

// item returns the i-th test item of sink.
func item(sink string, i int) sinks.DLQItem {
	at := base.Add(time.Duration(i) * time.Second)
	return sinks.DLQItem{
		Sink:          sink,
		At:            at,
		Message:       sinks.Message{Subject: "subject " + strconv.Itoa(i), Body: "body " + strconv.Itoa(i)},
		Attempts:      1,
		LastError:     "error " + strconv.Itoa(i),
		FirstFailedAt: at,
		LastFailedAt:  at,
		DeliveryID:    "delivery-" + sink + "-" + strconv.Itoa(i),
	}
}

// add pushes it with Add and fails the test on error.
func add(t *testing.T, st sinks.Store, it sinks.DLQItem) string {
	t.Helper()
	id, err := st.Add(context.Background(), it)
	if err != nil {
		t.Fatalf("Add(%s): %v", it.Message.Subject, err)
	}
	if id == "" {
		t.Fatal("Add returned an empty ID")
	}
	return id
}

func ids(items []sinks.DLQItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// checkOrder fails unless got holds exactly the IDs of want (given oldest
// first, as pushed, with sinkOf telling each one's sink), newest first within
// each sink. Across sinks, the order may differ where pushes were close in
// time: a backend with one stream per sink merges its streams by time. (See
// the CrossSinkOrder test for the order of pushes a few milliseconds apart.)
func checkOrder(t *testing.T, what string, got, want []string, sinkOf map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d items %v, want %d %v", what, len(got), got, len(want), reversed(want))
	}
	perSink := map[string][]string{}
	for _, id := range reversed(want) {
		perSink[sinkOf[id]] = append(perSink[sinkOf[id]], id)
	}
	for _, id := range got {
		q := perSink[sinkOf[id]]
		if len(q) == 0 || q[0] != id {
			t.Fatalf("%s: %v is not newest first within each sink (want %v, give or take the order across sinks)", what, got, reversed(want))
		}
		perSink[sinkOf[id]] = q[1:]
	}
}

func count(t *testing.T, st sinks.Store, sink string) int {
	t.Helper()
	n, err := st.Count(context.Background(), sink)
	if err != nil {
		t.Fatalf("Count(%q): %v", sink, err)
	}
	return n
}
