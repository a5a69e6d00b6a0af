package sinks_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
)

// countingSink delivers everything and counts the messages by subject.
type countingSink struct {
	mu   sync.Mutex
	sent map[string]int
}

func (s *countingSink) Name() string { return "mail" }

func (s *countingSink) Send(_ context.Context, _ sinks.Recipient, m sinks.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = map[string]int{}
	}
	s.sent[m.Subject]++
	return nil
}

func (s *countingSink) count(subject string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[subject]
}

// openFallback is a FallbackDLQ on a RedisDLQ under prefix at addr and a
// FileDLQ of its own, as one daemon has.
func openFallback(t *testing.T, addr, prefix string, sink sinks.Sink) (*sinks.FallbackDLQ, *sinks.RedisDLQ) {
	t.Helper()
	primary := sinks.NewRedisDLQ(fastFailClient(t, addr), sinks.WithKeyPrefix(prefix), sinks.WithMaxLen(0), sinks.WithPushTimeout(time.Second))
	local, err := sinks.OpenFileDLQ(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newFallback(t, primary, local)
	f.SetRegistryLookup(func(name string) (sinks.Sink, bool) { return sink, name == sink.Name() })
	return f, primary
}

// TestFallbackDLQIDsSurviveTheMove: the IDs two FallbackDLQs (two daemons
// on one Redis, each with its own local store) hand out while Redis is
// down keep naming their items after the items moved into Redis: Get,
// Update, Replay, Discard and Lease work with them, through either
// FallbackDLQ, although both handed out the same local numbers.
func TestFallbackDLQIDsSurviveTheMove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t, redistest.WithPersistence())
	sink := &countingSink{}
	a, primary := openFallback(t, srv.Addr, "ids", sink)
	b, _ := openFallback(t, srv.Addr, "ids", sink)

	srv.Kill()
	push := func(f *sinks.FallbackDLQ, subject string) string {
		t.Helper()
		id, err := f.Add(ctx, sinks.DLQItem{Sink: "mail", Message: sinks.Message{Subject: subject}})
		if err != nil {
			t.Fatalf("Add(%s) while Redis is down: %v", subject, err)
		}
		if !strings.HasPrefix(id, "local:") {
			t.Fatalf("Add(%s) while Redis is down returned %q, want a local ID", subject, id)
		}
		return id
	}
	ids := map[string]string{}
	for _, s := range []string{"get", "update", "replay", "discard", "lease"} {
		ids[s] = push(a, s)
	}
	other := push(b, "other daemon")
	if strings.SplitN(other, ".", 2)[0] != strings.SplitN(ids["get"], ".", 2)[0] {
		t.Fatalf("the two local stores numbered their first items %q and %q; the test wants them alike", other, ids["get"])
	}
	// While Redis is down, the local ID and the bare one of before name
	// the local item.
	bare := strings.TrimPrefix(ids["get"], "local:")
	bare = bare[:strings.LastIndexByte(bare, '.')]
	for _, id := range []string{ids["get"], bare} {
		it, err := a.Get(ctx, id)
		if err != nil || it.Message.Subject != "get" || it.ID != ids["get"] {
			t.Fatalf("Get(%q) while Redis is down = %+v, %v", id, it, err)
		}
	}
	// The other daemon's ID with the same number names its item, not
	// this one's (which Redis, down, cannot tell where it is).
	if it, err := a.Get(ctx, other); err == nil || it.Message.Subject == "get" {
		t.Fatalf("Get of the other daemon's local ID = %+v, %v; want an error, not this daemon's item", it, err)
	}

	srv.Restart()
	waitMoved(t, a)
	waitMoved(t, b)
	c := srv.Client()
	var moved sinks.DLQItem
	aliases, err := c.Keys(ctx, "ids:dlq-alias:*").Result()
	if err != nil || len(aliases) != 6 {
		t.Fatalf("alias keys %v, %v; want one per moved item", aliases, err)
	}
	for _, k := range aliases {
		if ttl, err := c.PTTL(ctx, k).Result(); err != nil || ttl < 29*24*time.Hour || ttl > 30*24*time.Hour {
			t.Fatalf("alias %s expires in %v (%v); want the default, 30 days", k, ttl, err)
		}
	}

	for subject, id := range map[string]string{"get": ids["get"], "other daemon": other} {
		for _, f := range []*sinks.FallbackDLQ{a, b} {
			it, err := f.Get(ctx, id)
			if err != nil || it.Message.Subject != subject || strings.HasPrefix(it.ID, "local:") {
				t.Fatalf("Get(%q) after the move = %+v, %v; want %q under its Redis ID", id, it, err, subject)
			}
			if direct, err := primary.Get(ctx, it.ID); err != nil || direct.Message.Subject != subject {
				t.Fatalf("Redis has %+v, %v under %s", direct, err, it.ID)
			}
		}
	}

	upd := sinks.DLQItem{ID: ids["update"], Sink: "mail", Message: sinks.Message{Subject: "update"}, LastError: "edited"}
	if err := a.Update(ctx, upd); err != nil {
		t.Fatalf("Update by the old ID: %v", err)
	}
	if it, err := a.Get(ctx, ids["update"]); err != nil || it.LastError != "edited" {
		t.Fatalf("after Update by the old ID: %+v, %v", it, err)
	}

	if err := a.Replay(ctx, ids["replay"]); err != nil || sink.count("replay") != 1 {
		t.Fatalf("Replay by the old ID = %v, %d sends", err, sink.count("replay"))
	}

	moved, err = a.Get(ctx, ids["discard"])
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Discard(ctx, ids["discard"]); err != nil {
		t.Fatalf("Discard by the old ID: %v", err)
	}
	for _, id := range []string{ids["discard"], moved.ID} {
		if _, err := a.Get(ctx, id); !errors.Is(err, sinks.ErrNotFound) {
			t.Fatalf("Get(%q) after Discard by the old ID = %v, want ErrNotFound", id, err)
		}
	}

	// A lease by the old ID is the lease of the moved item.
	release, err := a.Lease(sinks.WithLeaseHolder(ctx, "old-id holder"), ids["lease"], time.Minute)
	if err != nil {
		t.Fatalf("Lease by the old ID: %v", err)
	}
	it, err := a.Get(ctx, ids["lease"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := primary.Lease(sinks.WithLeaseHolder(ctx, "other"), it.ID, time.Minute); !errors.Is(err, sinks.ErrBusy) || !strings.Contains(err.Error(), "old-id holder") {
		t.Fatalf("Lease of the moved item while its old ID is leased = %v, want ErrBusy", err)
	}
	if err := b.Replay(ctx, ids["lease"]); !errors.Is(err, sinks.ErrBusy) {
		t.Fatalf("Replay through the other daemon by the old ID = %v, want ErrBusy", err)
	}
	release()

	if _, err := a.Get(ctx, "local:99.0123abcd"); !errors.Is(err, sinks.ErrNotFound) {
		t.Fatalf("Get of a local ID that never was = %v, want ErrNotFound", err)
	}
}

// The mover's aliases expire (after 30 days by default, withAliasTTL), so
// Redis keeps one small key per moved item for a bounded time.
func TestFallbackDLQAliasesExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t, redistest.WithPersistence())
	c := srv.Client()
	primary := sinks.NewRedisDLQ(fastFailClient(t, srv.Addr), sinks.WithKeyPrefix("expire"), sinks.WithPushTimeout(time.Second))
	local, err := sinks.OpenFileDLQ(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := sinks.NewFallbackDLQ(primary, local, sinks.WithMoveInterval(20*time.Millisecond), sinks.WithAliasTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	srv.Kill()
	id, err := f.Add(ctx, sinks.DLQItem{Sink: "mail", Message: sinks.Message{Subject: "short-lived alias"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	waitMoved(t, f)
	keys, err := c.Keys(ctx, "expire:dlq-alias:*").Result()
	if err != nil || len(keys) != 1 || keys[0] != "expire:dlq-alias:"+id {
		t.Fatalf("alias keys %v, %v; want one for %s", keys, err, id)
	}
	if ttl, err := c.PTTL(ctx, keys[0]).Result(); err != nil || ttl <= 0 || ttl > 2*time.Second {
		t.Fatalf("alias TTL %v, %v; want at most 2s", ttl, err)
	}
	if _, err := f.Get(ctx, id); err != nil {
		t.Fatalf("Get by the old ID: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := f.Get(ctx, id)
		if errors.Is(err, sinks.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get by the old ID long after its alias expired = %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, with a deadline
	}
	if n, err := f.Count(ctx, ""); err != nil || n != 1 {
		t.Fatalf("the item itself: count %d, %v", n, err)
	}
}
