package dlqtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// waitLimit bounds every wait of the lease tests for something that must
// happen.
const waitLimit = 20 * time.Second

// leaserOf returns st as a sinks.Leaser, or skips the test.
func leaserOf(t *testing.T, st sinks.Store) sinks.Leaser {
	t.Helper()
	l, ok := st.(sinks.Leaser)
	if !ok {
		t.Skipf("%T does not lease its items (sinks.Leaser)", st)
	}
	return l
}

// wantBusy fails unless err matches sinks.ErrBusy and names holder.
func wantBusy(t *testing.T, what string, err error, holder string) {
	t.Helper()
	if !errors.Is(err, sinks.ErrBusy) {
		t.Fatalf("%s = %v, want an error matching sinks.ErrBusy", what, err)
	}
	if holder != "" && !strings.Contains(err.Error(), holder) {
		t.Fatalf("%s = %q, want it to name the holder %q", what, err, holder)
	}
}

// tryLease takes and releases the lease on id for a new holder.
func tryLease(l sinks.Leaser, id string) error {
	release, err := l.Lease(sinks.WithLeaseHolder(context.Background(), "checker"), id, time.Minute)
	if err == nil {
		release()
	}
	return err
}

func testLease(t *testing.T, newStore NewStore) {
	ctx := context.Background()

	t.Run("ConcurrentReplaysDeliverOnce", func(t *testing.T) {
		b := setupReplay(t, newStore)
		leaserOf(t, b.st)
		id := b.deadLetter(t, Address{Email: "ops@example.com"}, "slow", "d-slow")
		calls := b.mail.sendCalls()
		entered, unblock := b.mail.block()
		defer unblock()

		const n = 8
		results := make(chan error, n)
		for i := range n {
			go func() {
				rctx := sinks.WithLeaseHolder(ctx, "replay "+string(rune('a'+i)))
				results <- b.st.Replay(rctx, id)
			}()
		}
		select {
		case <-entered:
		case <-time.After(waitLimit):
			t.Fatal("no replay reached the sink")
		}
		// The others are refused while the first one sends.
		for range n - 1 {
			select {
			case err := <-results:
				wantBusy(t, "a concurrent Replay", err, "replay ")
			case <-time.After(waitLimit):
				t.Fatal("a concurrent replay neither finished nor was refused")
			}
		}
		// So are a discard, a redrive and a lease of the item.
		wantBusy(t, "Discard during a replay", b.st.Discard(ctx, id), "replay ")
		p, err := sinks.Redrive(ctx, b.st, sinks.RedriveOptions{})
		if err != nil || p.Busy != 1 || p.Delivered+p.Failed+p.Skipped != 0 {
			t.Fatalf("Redrive during a replay = %+v, %v; want the item counted as busy", p, err)
		}
		wantBusy(t, "Redrive's last error", p.LastErr, "replay ")
		wantBusy(t, "Lease during a replay", tryLease(leaserOf(t, b.st), id), "replay ")

		unblock()
		select {
		case err := <-results:
			if err != nil {
				t.Fatalf("the replay that held the lease: %v", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("the replay that held the lease did not finish")
		}
		if d := b.mail.deliveries(); len(d) != 1 || b.mail.sendCalls()-calls != 1 {
			t.Fatalf("%d deliveries and %d Send calls from %d concurrent replays, want 1 and 1", len(d), b.mail.sendCalls()-calls, n)
		}
		if _, err := b.st.Get(ctx, id); err != nil {
			t.Fatalf("the item after the refused discard: %v", err)
		}
	})

	t.Run("ReleasedAfterReplay", func(t *testing.T) {
		b := setupReplay(t, newStore)
		l := leaserOf(t, b.st)
		ok := b.deadLetter(t, Address{Email: "a@example.com"}, "fine", "d-fine")
		bad := b.deadLetter(t, Address{Email: "b@example.com"}, "broken", "d-broken")
		if err := b.st.Replay(ctx, ok); err != nil {
			t.Fatal(err)
		}
		b.mail.fail("broken")
		if err := b.st.Replay(ctx, bad); err == nil || errors.Is(err, sinks.ErrBusy) {
			t.Fatalf("failed Replay = %v", err)
		}
		gone := add(t, b.st, item("mail", 1))
		if err := b.st.Discard(ctx, gone); err != nil {
			t.Fatal(err)
		}
		if err := b.st.Replay(ctx, gone); !errors.Is(err, sinks.ErrNotFound) {
			t.Fatalf("Replay of a discarded item = %v", err)
		}
		for what, id := range map[string]string{"delivered": ok, "failed": bad, "missing": gone} {
			if err := tryLease(l, id); err != nil {
				t.Errorf("the lease of the %s item after its replay: %v", what, err)
			}
		}
		// The item replays again, and a redrive finds nothing busy.
		if err := b.st.Replay(ctx, ok); err != nil {
			t.Fatalf("second Replay: %v", err)
		}
		b.mail.fail()
		p, err := sinks.Redrive(ctx, b.st, sinks.RedriveOptions{Filter: sinks.Filter{Sink: "mail"}})
		if err != nil || p.Delivered != 2 || p.Busy != 0 {
			t.Fatalf("Redrive = %+v, %v; want 2 delivered", p, err)
		}
		if err := tryLease(l, ok); err != nil {
			t.Errorf("the lease after a redrive: %v", err)
		}
	})

	t.Run("HolderTakesItAgain", func(t *testing.T) {
		b := setupReplay(t, newStore)
		l := leaserOf(t, b.st)
		id := b.deadLetter(t, Address{Email: "a@example.com"}, "mine", "d-mine")
		hctx, release, err := sinks.LeaseItem(sinks.WithLeaseHolder(ctx, "alice's replay"), b.st, id)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		wantBusy(t, "Replay by another holder", b.st.Replay(ctx, id), "alice's replay")
		if err := b.st.Replay(hctx, id); err != nil {
			t.Fatalf("Replay under the lease: %v", err)
		}
		again, err := l.Lease(hctx, id, time.Minute)
		if err != nil {
			t.Fatalf("Lease again by its holder: %v", err)
		}
		again() // lets nothing go: the first release does
		wantBusy(t, "Lease after the inner release", tryLease(l, id), "alice's replay")
		if err := b.st.Discard(hctx, id); err != nil {
			t.Fatalf("Discard under the lease: %v", err)
		}
		if _, err := b.st.Get(ctx, id); !errors.Is(err, sinks.ErrNotFound) {
			t.Fatalf("Get after the discard = %v", err)
		}
		release()
		release() // idempotent
		if err := tryLease(l, id); err != nil {
			t.Fatalf("Lease after release: %v", err)
		}
		if _, err := l.Lease(hctx, id, 0); !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Fatalf("Lease with TTL 0 = %v, want ErrInvalidArgument", err)
		}
	})

	t.Run("ExpiresWithoutItsHolder", func(t *testing.T) {
		st := newStore(t)
		l := leaserOf(t, st)
		id := add(t, st, item("mail", 1))
		// A holder that stopped (its context ended) without releasing, as
		// one whose process died: its lease lapses after the TTL.
		const ttl = 300 * time.Millisecond
		hctx, stop := context.WithCancel(sinks.WithLeaseHolder(ctx, "a holder that died"))
		release, err := l.Lease(hctx, id, ttl)
		if err != nil {
			t.Fatal(err)
		}
		stop()
		start := time.Now()
		wantBusy(t, "Lease before the TTL", tryLease(l, id), "a holder that died")
		next, err := waitLease(l, sinks.WithLeaseHolder(ctx, "next"), id)
		if err != nil {
			t.Fatalf("the expired lease was not free again after %v: %v", waitLimit, err)
		}
		defer next()
		if waited := time.Since(start); waited > ttl+5*time.Second {
			t.Errorf("the lease lapsed %v after its holder stopped, TTL %v", waited, ttl)
		}
		// The late release of the dead holder leaves the new lease alone.
		release()
		wantBusy(t, "Lease after a stale release", tryLease(l, id), "next")
	})

	t.Run("RenewedWhileHeld", func(t *testing.T) {
		st := newStore(t)
		l := leaserOf(t, st)
		id := add(t, st, item("mail", 1))
		// The TTL leaves room for a loaded machine: a renewal every third
		// of it, any of which may come late or fail once.
		const ttl = 900 * time.Millisecond
		release, err := l.Lease(sinks.WithLeaseHolder(ctx, "a long replay"), id, ttl)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		// Two and a half TTLs pass while the holder works: its renewals
		// keep the lease.
		for _, d := range []time.Duration{3 * ttl / 2, ttl} {
			time.Sleep(d) // the passing of time is what this test is about
			wantBusy(t, "Lease while renewed", tryLease(l, id), "a long replay")
		}
		release()
		if err := tryLease(l, id); err != nil {
			t.Fatalf("Lease after release: %v", err)
		}
	})
}

// waitLease tries to take the lease on id for ctx's holder until it
// succeeds or waitLimit passes.
func waitLease(l sinks.Leaser, ctx context.Context, id string) (func(), error) {
	deadline := time.Now().Add(waitLimit)
	for {
		release, err := l.Lease(ctx, id, time.Minute)
		if err == nil || !errors.Is(err, sinks.ErrBusy) || time.Now().After(deadline) {
			return release, err
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}
