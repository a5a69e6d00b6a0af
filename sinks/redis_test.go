package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
)

// The RedisDLQ tests run twice: against a single redis-server and against a
// local 3-master Redis Cluster. Each subtest works under its own key prefix.

func TestRedisDLQSingleNode(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := s.Client()
	runRedisSuite(t, c)
}

func TestRedisDLQCluster(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	c := cl.Client()
	runRedisSuite(t, c)
	t.Run("CompanionKeysShareTheStreamSlot", func(t *testing.T) {
		ctx := context.Background()
		for _, k := range []string{"dletter:dlq:email", "p:dlq:a}b", "{x}:dlq:s", "p:dlq:{}", "p{:dlq:q}", "p:dlq:{{}}"} {
			want, err := c.ClusterKeySlot(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got := redisKeySlot(k); int64(got) != want {
				t.Errorf("redisKeySlot(%q) = %d, server says %d", k, got, want)
			}
			for _, kind := range []string{"updates", "counters", "lease:1700000000000-0"} {
				ck := redisCompanionKey(k, kind)
				got, err := c.ClusterKeySlot(ctx, ck).Result()
				if err != nil || got != want {
					t.Errorf("slot of %q = %d, %v; want %d (slot of %q)", ck, got, err, want, k)
				}
			}
		}
		for _, prefix := range []string{"dletter", "{tag}", "p}{"} {
			d := NewRedisDLQ(c, WithKeyPrefix(prefix))
			for _, sink := range []string{"email", "a{b}"} {
				lk, sk := d.leaseKey(sink, "1700000000000-0"), d.streamKey(sink)
				got, err1 := c.ClusterKeySlot(ctx, lk).Result()
				want, err2 := c.ClusterKeySlot(ctx, sk).Result()
				if err1 != nil || err2 != nil || got != want {
					t.Errorf("lease key %q in slot %d, stream %q in %d (%v, %v)", lk, got, sk, want, err1, err2)
				}
			}
		}
	})
}

var redisPrefixSeq atomic.Int64

// newRedisDLQ returns a RedisDLQ under a prefix of its own, with opts.
func newRedisDLQ(t *testing.T, c redis.UniversalClient, opts ...StoreOption) *RedisDLQ {
	t.Helper()
	d := NewRedisDLQ(c, append([]StoreOption{WithKeyPrefix(fmt.Sprintf("t%d", redisPrefixSeq.Add(1)))}, opts...)...)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func runRedisSuite(t *testing.T, c redis.UniversalClient) {
	tests := []struct {
		name string
		fn   func(*testing.T, redis.UniversalClient)
	}{
		{"RoundTripEveryField", testRedisRoundTrip},
		{"IDsNameTheSink", testRedisIDsNameTheSink},
		{"MalformedIDs", testRedisMalformedIDs},
		{"FreshProcessSeesEverySink", testRedisFreshProcess},
		{"ItemsMergesNewestFirst", testRedisItemsMerge},
		{"ListPagesAndFilters", testRedisListPaging},
		{"PushIgnoresCancelledContext", testRedisPushCancelled},
		{"PushIsOneXADD", testRedisPushIsOneXADD},
		{"MaxLenTrimmingIsCounted", testRedisDropped},
		{"UpdateKeepsIDAndPlace", testRedisUpdate},
		{"HostileSinkNames", testRedisHostileSinks},
		{"ForeignEntriesAreShown", testRedisForeignEntry},
		{"AddBatch", testRedisAddBatch},
		{"AddOnce", testRedisAddOnce},
		{"Replay", testRedisReplay},
		{"WrongTypeKey", testRedisWrongType},
		{"Closed", testRedisClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, c) })
	}
}

func fullItem(sink string) DLQItem {
	at := time.Date(2026, 11, 23, 15, 4, 5, 123456789, time.UTC)
	return DLQItem{
		Sink:          sink,
		At:            at,
		Recipient:     map[string]any{"to": []string{"ops@example.com"}, "cc": nil},
		Message:       Message{Subject: "disk full", Body: "<b>héllo</b>\n\"quoted\"", Metadata: map[string]string{"X-Team": "ops", "k": ""}},
		Attempts:      5,
		LastError:     "smtp: 451 try later",
		FirstFailedAt: at.Add(-time.Minute),
		LastFailedAt:  at,
		History:       []Attempt{{At: at.Add(-time.Minute), Error: "dial: refused"}, {At: at, Error: "smtp: 451 try later"}},
		Replays:       2,
		DeliveryID:    "d-123",
	}
}

func testRedisRoundTrip(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	in := fullItem("email")
	id, err := d.Add(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID = id
	want.Recipient = json.RawMessage(`{"cc":null,"to":["ops@example.com"]}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
	}
	// The raw recipient decodes to what was stored.
	var rcpt struct{ To []string }
	if err := json.Unmarshal(got.Recipient.(json.RawMessage), &rcpt); err != nil || rcpt.To[0] != "ops@example.com" {
		t.Errorf("recipient %s: %v", got.Recipient, err)
	}
	// No recipient comes back as nil, and a missing At is stamped with the
	// time of the push.
	before := time.Now()
	id2, err := d.Add(ctx, DLQItem{Sink: "email"})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	got2, err := d.Get(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if got2.Recipient != nil || got2.At.Before(before) || got2.At.After(after) {
		t.Errorf("bare item came back with Recipient %#v, At %v", got2.Recipient, got2.At)
	}
	// A recipient that is not JSON is refused before anything is written.
	_, err = d.Add(ctx, DLQItem{Sink: "email", Recipient: func() {}})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Add with a func recipient: %v, want ErrInvalidArgument", err)
	}
}

// addRaw writes an entry with an explicit stream ID, as another writer
// could, and registers the sink.
func addRaw(t *testing.T, c redis.UniversalClient, d *RedisDLQ, sink, streamID string, it DLQItem) {
	t.Helper()
	ctx := context.Background()
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SAdd(ctx, d.sinksKey(), sink).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: d.keys(sink).stream, ID: streamID, Values: []any{"item", b}}).Err(); err != nil {
		t.Fatal(err)
	}
}

func testRedisIDsNameTheSink(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	addRaw(t, c, d, "email", "1000-1", DLQItem{Sink: "email", LastError: "e"})
	addRaw(t, c, d, "slack", "1000-1", DLQItem{Sink: "slack", LastError: "s"})
	if err := d.Discard(ctx, "email:1000-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "email:1000-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of discarded email item: %v, want ErrNotFound", err)
	}
	got, err := d.Get(ctx, "slack:1000-1")
	if err != nil || got.LastError != "s" || got.Sink != "slack" {
		t.Errorf("slack item after discarding the email one: %+v, %v", got, err)
	}
	// Discard again: not an error.
	if err := d.Discard(ctx, "email:1000-1"); err != nil {
		t.Errorf("second Discard: %v", err)
	}
	// A sink name with ":" still makes an unambiguous ID.
	id, err := d.Add(ctx, DLQItem{Sink: "team:a"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "team:a:") {
		t.Errorf("id %q does not start with its sink", id)
	}
	if it, err := d.Get(ctx, id); err != nil || it.Sink != "team:a" {
		t.Errorf("Get(%q) = %+v, %v", id, it, err)
	}
}

func testRedisMalformedIDs(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	if _, err := d.Add(ctx, DLQItem{Sink: "email"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		"", "email", "1-0", "email:", ":1-0", "email:1", "email:1-", "email:-1", "email:01-0",
		"email:1-01", "email:+1-0", "email:1-0x", "email:18446744073709551616-0",
		"email:*", "email:$", "email:-", "email:+", "email:(1-0", "e\nmail:1-0", "email:1-0 ",
	} {
		_, err := d.Get(ctx, id)
		if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Get(%q): %v, want ErrNotFound and ErrInvalidArgument", id, err)
		}
		if err := d.Update(ctx, DLQItem{ID: id}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Update(%q): %v, want ErrNotFound", id, err)
		}
		if err := d.Discard(ctx, id); err != nil {
			t.Errorf("Discard(%q): %v, want nil", id, err)
		}
		if _, _, err := d.List(ctx, Filter{}, id, 10); id != "" && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("List with cursor %q: %v, want ErrInvalidArgument", id, err)
		}
	}
	// Well formed but absent: not found, for a known and an unknown sink.
	for _, id := range []string{"email:1-0", "nosuch:1-0", "email:18446744073709551615-18446744073709551615"} {
		_, err := d.Get(ctx, id)
		if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Get(%q): %v, want ErrNotFound only", id, err)
		}
	}
}

func testRedisFreshProcess(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	var ids []string
	for _, s := range []string{"email", "slack", "webhook"} {
		id, err := d.Add(ctx, DLQItem{Sink: s})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Another DLQ with the same prefix, as a new process would have.
	fresh := NewRedisDLQ(c, WithKeyPrefix(d.prefix))
	if n, err := fresh.Count(ctx, ""); err != nil || n != 3 {
		t.Errorf("fresh Count(\"\") = %d, %v; want 3", n, err)
	}
	items, err := fresh.Items(ctx, "", 10)
	if err != nil || len(items) != 3 {
		t.Fatalf("fresh Items = %v, %v", items, err)
	}
	for _, id := range ids {
		if _, err := fresh.Get(ctx, id); err != nil {
			t.Errorf("fresh Get(%q): %v", id, err)
		}
	}
	st, err := fresh.Stats(ctx)
	if err != nil || st.Items != 3 || len(st.BySink) != 3 {
		t.Errorf("fresh Stats = %+v, %v", st, err)
	}
}

func testRedisItemsMerge(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	sinks := []string{"a", "b", "c"}
	var idList []string
	for i := range 30 {
		// Uneven: sink a gets most items, so a per-sink limit would show.
		s := sinks[0]
		if i%5 == 1 {
			s = sinks[1]
		} else if i%7 == 2 {
			s = sinks[2]
		}
		id, err := d.Add(ctx, DLQItem{Sink: s, Attempts: i})
		if err != nil {
			t.Fatal(err)
		}
		idList = append(idList, id)
	}
	// The millisecond of a push is never later than that of a later push.
	for i := 1; i < len(idList); i++ {
		if posOf(t, idList[i]).ms < posOf(t, idList[i-1]).ms {
			t.Fatalf("%s pushed after %s", idList[i], idList[i-1])
		}
	}
	// Newest first by stream ID: within one millisecond, the sequence
	// numbers of two streams say nothing of which push came first, so the
	// expected order is by (ms, seq, sink), descending.
	want := slices.Clone(idList)
	slices.SortFunc(want, func(a, b string) int {
		pa, pb := posOf(t, a), posOf(t, b)
		switch {
		case pa.before(pb):
			return -1
		case pb.before(pa):
			return 1
		}
		return 0
	})
	for _, limit := range []int{1, 5, 29, 30, 100} {
		items, err := d.Items(ctx, "", limit)
		if err != nil {
			t.Fatal(err)
		}
		if got, w := ids(items), want[:min(limit, 30)]; !reflect.DeepEqual(got, w) {
			t.Errorf("Items(\"\", %d):\n got %v\nwant %v", limit, got, w)
		}
	}
	items, err := d.Items(ctx, "b", 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		if it.Sink != "b" || (i > 0 && it.Attempts >= items[i-1].Attempts) {
			t.Errorf("Items(b)[%d] = %+v", i, it)
		}
	}
}

func testRedisListPaging(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	// Two sinks with identical stream IDs: the cursor must order ties.
	for i := 1; i <= 6; i++ {
		for _, s := range []string{"x", "y"} {
			errText := "timeout"
			if i%2 == 0 {
				errText = "refused"
			}
			at := time.Date(2026, 1, i, 0, 0, 0, 0, time.UTC)
			addRaw(t, c, d, s, fmt.Sprintf("%d-0", i), DLQItem{Sink: s, At: at, LastError: errText})
		}
	}
	var all []string
	cursor := ""
	for page := 0; ; page++ {
		items, next, err := d.List(ctx, Filter{}, cursor, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			all = append(all, it.ID)
		}
		if next == "" {
			if len(items) == 0 && page > 0 {
				t.Errorf("last page is empty: next should have been \"\" one page earlier")
			}
			break
		}
		if next != items[len(items)-1].ID {
			t.Errorf("next %q is not the last item's ID %q", next, items[len(items)-1].ID)
		}
		cursor = next
	}
	want := []string{"y:6-0", "x:6-0", "y:5-0", "x:5-0", "y:4-0", "x:4-0", "y:3-0", "x:3-0", "y:2-0", "x:2-0", "y:1-0", "x:1-0"}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("pages:\n got %v\nwant %v", all, want)
	}
	// Filters, with paging through the matches.
	f := Filter{Contains: "REFUSED", Since: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)}
	items, next, err := d.List(ctx, f, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(items)
	if !reflect.DeepEqual(got, []string{"y:4-0", "x:4-0", "y:2-0"}) || next != "y:2-0" {
		t.Errorf("filtered page 1 = %v next %q", got, next)
	}
	items, next, err = d.List(ctx, f, next, 3)
	if err != nil || !reflect.DeepEqual(ids(items), []string{"x:2-0"}) || next != "" {
		t.Errorf("filtered page 2 = %v next %q, %v", ids(items), next, err)
	}
	items, _, err = d.List(ctx, Filter{Sink: "x"}, "y:4-0", 2)
	if err != nil || !reflect.DeepEqual(ids(items), []string{"x:4-0", "x:3-0"}) {
		t.Errorf("sink x after y:4-0 = %v, %v", ids(items), err)
	}
	for _, limit := range []int{0, -1, math.MaxInt} {
		if items, next, err := d.List(ctx, Filter{}, "", limit); err != nil || len(items) != 12 || next != "" {
			t.Errorf("limit %d = %d items, next %q, %v; want all 12", limit, len(items), next, err)
		}
	}
}

func posOf(t *testing.T, id string) redisPos {
	t.Helper()
	sink, streamID, ok := parseRedisID(id)
	if !ok {
		t.Fatalf("bad id %q", id)
	}
	ms, seq, _ := parseRedisStreamID(streamID)
	return redisPos{ms: ms, seq: seq, sink: sink}
}

func ids(items []DLQItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func testRedisPushCancelled(t *testing.T, c redis.UniversalClient) {
	d := newRedisDLQ(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	id, err := d.Add(ctx, DLQItem{Sink: "email"})
	if err != nil {
		t.Fatalf("Add with a cancelled context: %v", err)
	}
	if err := d.Push(ctx, DLQItem{Sink: "email"}); err != nil {
		t.Fatalf("Push with a cancelled context: %v", err)
	}
	if n, err := d.Count(context.Background(), "email"); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2", n, err)
	}
	if _, err := d.Get(context.Background(), id); err != nil {
		t.Error(err)
	}
}

func testRedisDropped(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c, WithMaxLen(10))
	const pushed = 1000
	items := make([]DLQItem, pushed)
	for i := range items {
		items[i] = DLQItem{Sink: "email", Attempts: i}
	}
	if _, err := d.AddBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	left, err := d.Items(ctx, "email", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Discard(ctx, left[0].ID); err != nil {
		t.Fatal(err)
	}
	st, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Count(ctx, "email")
	if err != nil {
		t.Fatal(err)
	}
	if n >= pushed-1 || n < 9 {
		t.Fatalf("Count after trimming = %d", n)
	}
	if st.Items != int64(n) || st.BySink["email"] != int64(n) {
		t.Errorf("Stats = %+v, Count %d", st, n)
	}
	if want := int64(pushed - 1 - n); st.Dropped != want {
		t.Errorf("Dropped = %d, want %d (pushed %d, discarded 1, left %d)", st.Dropped, want, pushed, n)
	}
	if st.Bytes <= 0 {
		t.Errorf("Bytes = %d", st.Bytes)
	}
	// Without a cap nothing is dropped.
	u := newRedisDLQ(t, c, WithMaxLen(0))
	if _, err := u.AddBatch(ctx, items[:300]); err != nil {
		t.Fatal(err)
	}
	if st, err := u.Stats(ctx); err != nil || st.Items != 300 || st.Dropped != 0 {
		t.Errorf("uncapped Stats = %+v, %v", st, err)
	}
}

func testRedisUpdate(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	var idList []string
	for i := range 3 {
		id, err := d.Add(ctx, DLQItem{Sink: "email", Attempts: i})
		if err != nil {
			t.Fatal(err)
		}
		idList = append(idList, id)
	}
	it, err := d.Get(ctx, idList[1])
	if err != nil {
		t.Fatal(err)
	}
	it.RecordFailure(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC), errors.New("again"))
	it.Replays++
	it.Sink = ""
	if err := d.Update(ctx, it); err != nil {
		t.Fatal(err)
	}
	items, err := d.Items(ctx, "email", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(items); !reflect.DeepEqual(got, []string{idList[2], idList[1], idList[0]}) {
		t.Fatalf("order after update = %v", got)
	}
	if u := items[1]; u.Attempts != 2 || u.Replays != 1 || u.LastError != "again" || len(u.History) != 1 || u.Sink != "email" {
		t.Errorf("updated item = %+v", u)
	}
	if err := d.Update(ctx, DLQItem{ID: idList[0], Sink: "slack"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Update moving sinks: %v, want ErrInvalidArgument", err)
	}
	if err := d.Discard(ctx, idList[1]); err != nil {
		t.Fatal(err)
	}
	if err := d.Update(ctx, it); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of a discarded item: %v, want ErrNotFound", err)
	}
	if n, err := c.HLen(ctx, d.keys("email").updates).Result(); err != nil || n != 0 {
		t.Errorf("updates hash holds %d fields after discard, %v", n, err)
	}

	// Updates of items MAXLEN trimmed away are forgotten, amortised.
	capped := newRedisDLQ(t, c, WithMaxLen(1))
	for i := range 300 {
		id, err := capped.Add(ctx, DLQItem{Sink: "s"})
		if err != nil {
			t.Fatal(err)
		}
		if err := capped.Update(ctx, DLQItem{ID: id, Attempts: i}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.HLen(ctx, capped.keys("s").updates).Result()
	if err != nil {
		t.Fatal(err)
	}
	live, _ := capped.Count(ctx, "s")
	if n > int64(2*max(64, live)) {
		t.Errorf("updates hash holds %d fields for %d live items", n, live)
	}
}

func testRedisHostileSinks(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	sinks := []string{"a}b", "{x}", "{", "}", "{}", "日本語", "x:y:z", "with space", strings.Repeat("s", 256)}
	for _, s := range sinks {
		id, err := d.Add(ctx, DLQItem{Sink: s, LastError: s})
		if err != nil {
			t.Fatalf("Add to sink %q: %v", s, err)
		}
		it, err := d.Get(ctx, id)
		if err != nil || it.Sink != s || it.LastError != s {
			t.Errorf("Get(%q) = %+v, %v", id, it, err)
		}
		it.Attempts = 9
		if err := d.Update(ctx, it); err != nil {
			t.Errorf("Update in sink %q: %v", s, err)
		}
		if err := d.Discard(ctx, id); err != nil {
			t.Errorf("Discard in sink %q: %v", s, err)
		}
		if _, err := d.Add(ctx, DLQItem{Sink: s}); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := d.Stats(ctx); err != nil || st.Items != int64(len(sinks)) {
		t.Errorf("Stats = %+v, %v", st, err)
	}
	if items, err := d.Items(ctx, "", 100); err != nil || len(items) != len(sinks) {
		t.Errorf("Items = %d items, %v", len(items), err)
	}
	for _, bad := range []string{"", "a\nb", "\x00", strings.Repeat("s", 257), "\xff"} {
		if _, err := d.Add(ctx, DLQItem{Sink: bad}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Add to sink %q: %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func testRedisForeignEntry(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	if _, err := d.Add(ctx, DLQItem{Sink: "email"}); err != nil {
		t.Fatal(err)
	}
	k := d.keys("email").stream
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: k, Values: []any{"payload", "hello"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: k, Values: []any{"item", "{not json"}}).Err(); err != nil {
		t.Fatal(err)
	}
	// An item's JSON under another field name, with the capitalised
	// message fields of the original API, is read as an item.
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: k, Values: []any{"v", "1", "payload", `{"sink":"email","message":{"Subject":"old"},"attempts":3,"last_error":"boom"}`}}).Err(); err != nil {
		t.Fatal(err)
	}
	items, err := d.Items(ctx, "email", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 4 {
		t.Fatalf("Items = %d, want 4 (foreign entries shown)", len(items))
	}
	if old := items[0]; old.Message.Subject != "old" || old.Attempts != 3 || old.LastError != "boom" {
		t.Errorf("entry with the item under another field read as %+v", old)
	}
	items = items[1:]
	if !strings.Contains(items[0].LastError, "no dletter item") || items[0].Message.Body != "{not json" {
		t.Errorf("bad JSON entry shown as %+v", items[0])
	}
	if !strings.Contains(items[1].LastError, `no "item" field`) || items[1].Message.Body != "payload=hello" {
		t.Errorf("foreign entry shown as %+v", items[1])
	}
	if err := d.Discard(ctx, items[1].ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Count(ctx, "email"); n != 3 {
		t.Errorf("Count after discarding the foreign entry = %d", n)
	}
}

// commandCalls returns the calls of each command so far, summed over the
// servers of c (every master of a Cluster), from INFO commandstats.
func commandCalls(t *testing.T, c redis.UniversalClient) map[string]int64 {
	t.Helper()
	calls := make(map[string]int64)
	var mu sync.Mutex
	read := func(ctx context.Context, n *redis.Client) error {
		info, err := n.Info(ctx, "commandstats").Result()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for line := range strings.SplitSeq(info, "\n") {
			// cmdstat_xadd:calls=3,usec=12,...
			name, stats, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
			if !ok {
				continue
			}
			v, _, _ := strings.Cut(stats, ",")
			k, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("INFO commandstats line %q: %w", line, err)
			}
			calls[name] += k
		}
		return nil
	}
	var err error
	ctx := context.Background()
	switch cc := c.(type) {
	case *redis.ClusterClient:
		err = cc.ForEachMaster(ctx, read)
	case *redis.Client:
		err = read(ctx, cc)
	default:
		t.Fatalf("commandCalls: client %T", c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// testRedisPushIsOneXADD checks what a push costs the server: one plain
// XADD, no script, and the sink registered once per process, not per push.
// Concurrent pushes share pipelines (TestRedisPushesShareAPipeline), which
// changes the round trips, not the commands.
func testRedisPushIsOneXADD(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c, WithMaxLen(100))
	before := commandCalls(t, c)
	const n = 300
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range n / 4 {
				if err := d.Push(ctx, DLQItem{Sink: []string{"a", "b"}[i%2], Attempts: w}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	after := commandCalls(t, c)
	calls := func(cmd string) int64 { return after[cmd] - before[cmd] }
	if got := calls("xadd"); got != n {
		t.Errorf("%d pushes ran XADD %d times", n, got)
	}
	// Four goroutines may all find a sink unregistered at first.
	if got := calls("sadd"); got < 2 || got > 8 {
		t.Errorf("%d pushes to 2 sinks ran SADD %d times, want 2 (at most 8: one per goroutine and sink)", n, got)
	}
	for _, cmd := range []string{"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall"} {
		if got := calls(cmd); got != 0 {
			t.Errorf("%d pushes ran %s %d times, want none", n, cmd, got)
		}
	}
	// MAXLEN ~ 100 capped the streams, and the trimming is counted.
	st, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Items+st.Dropped != n || st.Items >= n || st.BySink["a"] > 200 || st.BySink["b"] > 200 {
		t.Errorf("Stats after %d capped pushes = %+v; want Items+Dropped = %d and each sink near 100", n, st, n)
	}
}

func testRedisAddBatch(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	batch := []DLQItem{{Sink: "a", Attempts: 1}, {Sink: "b", Attempts: 2}, {Sink: "a", Attempts: 3}}
	got, err := d.AddBatch(ctx, batch)
	if err != nil || len(got) != 3 {
		t.Fatalf("AddBatch = %v, %v", got, err)
	}
	for i, id := range got {
		it, err := d.Get(ctx, id)
		if err != nil || it.Attempts != batch[i].Attempts || it.Sink != batch[i].Sink {
			t.Errorf("item %d: %+v, %v", i, it, err)
		}
	}
	// A batch larger than one script takes keeps the order of each sink's
	// items (across sinks, a Cluster runs the scripts on several nodes at
	// once).
	big := make([]DLQItem, 2*maxScriptBatch+10)
	for i := range big {
		big[i] = DLQItem{Sink: []string{"c", "d"}[i%3/2], Attempts: i}
	}
	bigIDs, err := d.AddBatch(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"c", "d"} {
		items, err := d.Items(ctx, sink, 0)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := len(big) - 1; i >= 0; i-- {
			if big[i].Sink == sink {
				want = append(want, bigIDs[i])
			}
		}
		if got := ids(items); !reflect.DeepEqual(got, want) {
			t.Fatalf("sink %s after a big batch: %d items, first %v; want %d, first %v", sink, len(got), got[:3], len(want), want[:3])
		}
	}
	if got, err := d.AddBatch(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("empty AddBatch = %v, %v", got, err)
	}
	if _, err := d.AddBatch(ctx, []DLQItem{{Sink: "a"}, {Sink: ""}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("AddBatch with a bad item: %v", err)
	}
	if n, _ := d.Count(ctx, ""); n != 3+len(big) {
		t.Errorf("a refused batch wrote items: Count = %d", n)
	}
}

func testRedisAddOnce(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	id1, err := d.AddOnce(ctx, "k1", DLQItem{Sink: "email", Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := d.AddOnce(ctx, "k1", DLQItem{Sink: "email", Attempts: 2})
	if err != nil || id2 != id1 {
		t.Fatalf("second AddOnce = %q, %v; want %q", id2, err, id1)
	}
	if n, _ := d.Count(ctx, "email"); n != 1 {
		t.Fatalf("Count = %d after a repeated AddOnce", n)
	}
	if err := d.ForgetOnce(ctx, "email", "k1"); err != nil {
		t.Fatal(err)
	}
	id3, err := d.AddOnce(ctx, "k1", DLQItem{Sink: "email"})
	if err != nil || id3 == id1 {
		t.Fatalf("AddOnce after ForgetOnce = %q, %v", id3, err)
	}
	ttl, err := c.TTL(ctx, d.onceKey("email", "k1")).Result()
	if err != nil || ttl <= 0 || ttl > onceTTL {
		t.Errorf("once key TTL = %v, %v", ttl, err)
	}
}

func testRedisWrongType(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	if _, err := d.Add(ctx, DLQItem{Sink: "ok"}); err != nil {
		t.Fatal(err)
	}
	// Someone else's key where a sink's stream should be.
	if err := c.SAdd(ctx, d.sinksKey(), "clash").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, d.keys("clash").stream, "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := d.Items(ctx, "", 10)
	if err == nil || !strings.Contains(err.Error(), d.keys("clash").stream) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("Items over a clashing key: %v; want WRONGTYPE naming the key", err)
	}
	if _, err := d.Items(ctx, "ok", 10); err != nil {
		t.Errorf("Items of the sound sink: %v", err)
	}
	if _, err := d.Add(ctx, DLQItem{Sink: "clash"}); err == nil || errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Add onto a clashing key: %v; want a server error", err)
	}
}

func testRedisClosed(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := d.Push(ctx, DLQItem{Sink: "a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Push after Close: %v", err)
	}
	if _, err := d.Items(ctx, "", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Items after Close: %v", err)
	}
	if _, err := d.Stats(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close: %v", err)
	}
}

func TestRedisKeySlotVectors(t *testing.T) {
	// From the Redis Cluster specification: CRC16 of "123456789" is 0x31C3.
	if got := redisCRC16("123456789"); got != 0x31c3 {
		t.Errorf("crc16 = %#x, want 0x31c3", got)
	}
	for _, tc := range []struct{ a, b string }{
		{"{user1000}.following", "{user1000}.followers"},
		{"foo{}{bar}", "foo{}{bar}"},
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
	} {
		if redisKeySlot(tc.a) != redisKeySlot(tc.b) {
			t.Errorf("slot(%q) != slot(%q)", tc.a, tc.b)
		}
	}
	for slot := uint16(0); slot < 16384; slot += 97 {
		if got := redisKeySlot(redisSlotTag(slot)); got != slot {
			t.Errorf("slot tag %q of slot %d hashes to %d", redisSlotTag(slot), slot, got)
		}
	}
	for _, k := range []string{"a}b", "{}", "x{y", "p:dlq:a}b{c", "{a}"} {
		for _, kind := range []string{"updates", "counters"} {
			if ck := redisCompanionKey(k, kind); redisKeySlot(ck) != redisKeySlot(k) {
				t.Errorf("companion %q of %q: slot %d, want %d", ck, k, redisKeySlot(ck), redisKeySlot(k))
			}
		}
	}
}

func FuzzParseRedisID(f *testing.F) {
	for _, s := range []string{"email:1-0", "a:b:1700000000000-5", "email:01-0", ":1-0", "x:18446744073709551615-0", "", "email:1-0\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		sink, streamID, ok := parseRedisID(id)
		if !ok {
			return
		}
		if formatRedisID(sink, streamID) != id {
			t.Fatalf("%q parsed to (%q, %q), which formats differently", id, sink, streamID)
		}
		ms, seq, ok := parseRedisStreamID(streamID)
		if !ok || fmt.Sprintf("%d-%d", ms, seq) != streamID {
			t.Fatalf("stream id %q is not canonical", streamID)
		}
		if redisSinkNameProblem(sink) != "" {
			t.Fatalf("sink %q accepted", sink)
		}
	})
}

// redisTestSink records what it is sent and fails while fail is set.
type redisTestSink struct {
	fail atomic.Bool
	got  chan any
}

type redisTestRecipient struct{ To string }

func (s *redisTestSink) Name() string { return "typed" }

func (s *redisTestSink) Send(ctx context.Context, to Recipient, m Message) error {
	s.got <- to
	if s.fail.Load() {
		return errors.New("still down")
	}
	return nil
}

func (s *redisTestSink) DecodeRecipient(raw json.RawMessage) (Recipient, error) {
	var r redisTestRecipient
	err := json.Unmarshal(raw, &r)
	return r, err
}

func testRedisReplay(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	sink := &redisTestSink{got: make(chan any, 2)}
	d.SetRegistryLookup(func(name string) (Sink, bool) { return sink, name == "typed" })
	id, err := d.Add(ctx, DLQItem{Sink: "typed", Recipient: redisTestRecipient{To: "x"}, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Replay(ctx, id); err != nil {
		t.Fatal(err)
	}
	if to := <-sink.got; to != (redisTestRecipient{To: "x"}) {
		t.Errorf("replayed to %#v", to)
	}
	sink.fail.Store(true)
	if err := d.Replay(ctx, id); err == nil {
		t.Fatal("failing replay returned nil")
	}
	<-sink.got
	it, err := d.Get(ctx, id)
	if err != nil || it.Attempts != 2 || it.Replays != 1 || it.LastError != "still down" {
		t.Errorf("after a failed replay: %+v, %v", it, err)
	}
	if n, _ := d.Count(ctx, ""); n != 1 {
		t.Errorf("Count = %d after replays, want 1 (no duplicate)", n)
	}
	if err := d.Replay(ctx, "typed:1-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replay of an unknown id: %v", err)
	}
}

// FuzzDecodeRedisItem feeds arbitrary entry contents to the decoder: it
// never panics, and always returns an item with the entry's ID and sink.
func FuzzDecodeRedisItem(f *testing.F) {
	it := fullItem("email")
	b, _ := json.Marshal(it)
	for _, s := range []string{string(b), "", "{", "null", `{"sink":"other","at":"x"}`, `{"recipient":null}`, `{"history":[{"at":1}]}`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, v := range []any{raw, []any{"field", raw}} {
			got := decodeRedisItem("email", "5-1", v)
			if got.ID != "email:5-1" || got.Sink != "email" {
				t.Fatalf("decoded %q to ID %q sink %q", raw, got.ID, got.Sink)
			}
		}
	})
}

// The options of NewRedisDLQ and their defaults; the builder methods of
// the original API, kept as deprecated shims, set the same fields.
func TestRedisDLQOptions(t *testing.T) {
	d := NewRedisDLQ(nil)
	if d.prefix != DefaultRedisKeyPrefix || d.maxLen != 10000 || d.pushTimeout != 10*time.Second {
		t.Fatalf("defaults: prefix %q, maxLen %d, push timeout %v", d.prefix, d.maxLen, d.pushTimeout)
	}
	d = NewRedisDLQ(nil, WithKeyPrefix("shop"), WithMaxLen(5), WithPushTimeout(time.Second), WithLogger(nil), nil)
	if d.prefix != "shop" || d.maxLen != 5 || d.pushTimeout != time.Second {
		t.Fatalf("options: prefix %q, maxLen %d, push timeout %v", d.prefix, d.maxLen, d.pushTimeout)
	}
	d = NewRedisDLQ(nil, WithKeyPrefix(""), WithMaxLen(-1), WithPushTimeout(-time.Second))
	if d.prefix != DefaultRedisKeyPrefix || d.maxLen != 0 || d.pushTimeout != 10*time.Second {
		t.Fatalf("empty prefix, negative cap and timeout: prefix %q, maxLen %d, push timeout %v", d.prefix, d.maxLen, d.pushTimeout)
	}
	seed := NewRedisDLQ(nil).WithKeyPrefix("shop").WithMaxLen(5)
	if seed.prefix != "shop" || seed.maxLen != 5 {
		t.Fatalf("builder methods: prefix %q, maxLen %d", seed.prefix, seed.maxLen)
	}
	seed = NewRedisDLQ(nil, WithKeyPrefix("x")).WithKeyPrefix("").WithMaxLen(-1)
	if seed.prefix != DefaultRedisKeyPrefix || seed.maxLen != 0 {
		t.Fatalf("builder methods, empty prefix and negative cap: prefix %q, maxLen %d", seed.prefix, seed.maxLen)
	}
}

func TestRedisDLQWithoutClient(t *testing.T) {
	d := NewRedisDLQ(nil)
	if err := d.Push(context.Background(), DLQItem{Sink: "a"}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Push without a client: %v, want ErrInvalidConfig", err)
	}
	if _, err := d.Items(context.Background(), "", 1); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Items without a client: %v, want ErrInvalidConfig", err)
	}
}
