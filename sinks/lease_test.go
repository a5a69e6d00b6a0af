package sinks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A replay that takes three TTLs keeps its lease all along: its renewals
// keep a second replay out until it ends, and the lease is free after.
func TestLeaseRenewedThroughALongReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSink{latency: 3 * leaseTTL}
		st := slowStore(t, s, 1, 0)
		ctx := context.Background()
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- st.Replay(WithLeaseHolder(ctx, "the long replay"), "1") }()
		for _, at := range []time.Duration{leaseTTL / 2, 2 * leaseTTL, 3*leaseTTL - time.Second} {
			time.Sleep(at - time.Since(start))
			synctest.Wait()
			err := st.Replay(ctx, "1")
			if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "the long replay") {
				t.Fatalf("a second replay %v into the first = %v, want ErrBusy naming the holder", at, err)
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("the long replay: %v", err)
		}
		if err := st.Replay(ctx, "1"); err != nil {
			t.Fatalf("a replay after the long one: %v", err)
		}
		if n := s.returned.Load(); n != 2 {
			t.Fatalf("the sink was called %d times, want 2", n)
		}
	})
}

// A holder whose context ended keeps its lease for exactly one TTL after
// its last renewal.
func TestLeaseLapsesOneTTLAfterItsHolderStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := NewMemoryDLQ()
		id, err := st.Add(context.Background(), DLQItem{Sink: "mail"})
		if err != nil {
			t.Fatal(err)
		}
		const ttl = time.Minute
		hctx, stop := context.WithCancel(WithLeaseHolder(context.Background(), "gone"))
		release, err := st.Lease(hctx, id, ttl)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		time.Sleep(ttl / 3) // one renewal: the lease now runs until 4/3 TTL
		synctest.Wait()
		stop()
		other := WithLeaseHolder(context.Background(), "other")
		time.Sleep(ttl - time.Nanosecond)
		if _, err := st.Lease(other, id, ttl); !errors.Is(err, ErrBusy) {
			t.Fatalf("Lease just before the lapse = %v, want ErrBusy", err)
		}
		time.Sleep(time.Nanosecond)
		next, err := st.Lease(other, id, ttl)
		if err != nil {
			t.Fatalf("Lease one TTL after the last renewal: %v", err)
		}
		next()
	})
}

// A redrive counts the items other holders have as busy, sends nothing to
// them and leaves them unchanged, with items in flight concurrently.
func TestRedriveSkipsBusyItems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSink{latency: time.Second}
		st := slowStore(t, s, 10, 0)
		ctx := context.Background()
		var held []func()
		for _, id := range []string{"2", "5", "9"} {
			release, err := st.Lease(WithLeaseHolder(ctx, "replay of "+id), id, leaseTTL)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, release)
		}
		p, err := Redrive(WithLeaseHolder(ctx, "redrive r1"), st, RedriveOptions{Concurrency: 4})
		if err != nil || p.Matched != 10 || p.Delivered != 7 || p.Busy != 3 || p.Skipped+p.Failed != 0 {
			t.Fatalf("Redrive = %+v, %v; want 7 delivered, 3 busy", p, err)
		}
		if n := s.returned.Load(); n != 7 {
			t.Fatalf("%d sends, want 7", n)
		}
		for _, id := range []string{"2", "5", "9"} {
			if _, err := st.Get(ctx, id); err != nil {
				t.Fatalf("busy item %s: %v", id, err)
			}
		}
		for _, release := range held {
			release()
		}
		// The redrive's leases were its own (named after its holder), and
		// are gone: the busy items redrive now.
		p, err = Redrive(ctx, st, RedriveOptions{})
		if err != nil || p.Delivered != 3 || p.Busy != 0 {
			t.Fatalf("second Redrive = %+v, %v", p, err)
		}
	})
}

func TestBusyErrorSaysWhoAndHowLong(t *testing.T) {
	for _, tc := range []struct {
		holder string
		left   time.Duration
		want   string
	}{
		{"replay by alice (h pid 1)", 4*time.Minute + 400*time.Millisecond, `sinks: Op: item "x:1-0" is busy: replay by alice (h pid 1) has leased it (for at most 4m0s more)`},
		{"", 300 * time.Millisecond, `sinks: Op: item "x:1-0" is busy: another holder has leased it (for at most 300ms more)`},
		{"mover", 0, `sinks: Op: item "x:1-0" is busy: mover has leased it`},
	} {
		err := busyError("Op", "x:1-0", tc.holder, tc.left)
		if err.Error() != tc.want || !errors.Is(err, ErrBusy) {
			t.Errorf("busyError(%q, %v) = %q, want %q", tc.holder, tc.left, err, tc.want)
		}
	}
	h, _ := LeaseHolderOf(WithLeaseHolder(context.Background(), "redrive r1"))
	if want := fmt.Sprintf(" pid %d)", os.Getpid()); !strings.HasPrefix(h.Name, "redrive r1 (") || !strings.HasSuffix(h.Name, want) || len(h.Token) != 32 {
		t.Errorf("holder %+v: want the name, the host and the process id, and a 128-bit token", h)
	}
}

// Two spellings of one item's id ("1", "01") share its lease.
func TestLeaseOnTheItemNotTheSpelling(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fd, err := OpenFileDLQ(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	for _, st := range []interface {
		Store
		Leaser
	}{NewMemoryDLQ(), fd} {
		if _, err := st.Add(ctx, DLQItem{Sink: "mail"}); err != nil {
			t.Fatal(err)
		}
		release, err := st.Lease(WithLeaseHolder(ctx, "first"), "1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Lease(WithLeaseHolder(ctx, "second"), "01", time.Minute); !errors.Is(err, ErrBusy) {
			t.Errorf("%T: Lease of 01 while 1 is leased = %v, want ErrBusy", st, err)
		}
		if err := st.Discard(ctx, "001"); !errors.Is(err, ErrBusy) {
			t.Errorf("%T: Discard of 001 while 1 is leased = %v, want ErrBusy", st, err)
		}
		if _, err := st.Lease(ctx, "x", time.Minute); !errors.Is(err, ErrNotFound) {
			t.Errorf("%T: Lease of a malformed id = %v, want ErrNotFound", st, err)
		}
		release()
	}
}
