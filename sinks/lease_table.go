package sinks

import (
	"context"
	"sync"
	"time"
)

// leaseTable keeps the leases of an in-process store (MemoryDLQ, FileDLQ,
// which one process alone has open): item id -> holder and expiry. The zero
// value is ready to use.
type leaseTable struct {
	mu      sync.Mutex
	m       map[string]leaseEntry
	sweepAt int // sweep expired entries when the map grows to this size
}

type leaseEntry struct {
	h     LeaseHolder
	until time.Time
}

// leaseSeq is the Lease of a store whose ids are sequence numbers
// (formatID): the lease is on the canonical spelling of id, so "01" and
// "1" share it. usable fails when the store is closed.
func (t *leaseTable) leaseSeq(ctx context.Context, op, id string, ttl time.Duration, usable func() error) (func(), error) {
	seq, ok := parseID(id)
	if !ok {
		return nil, Errorf(CodeNotFound, op, "no item %q", id)
	}
	if err := usable(); err != nil {
		return nil, err
	}
	return takeLease(ctx, op, tableLease{t: t, op: op, id: formatID(seq)}, ttl)
}

// hold runs fn while ctx's holder (or a new one) has the lease on id: the
// Discard of a store, which another holder's lease refuses.
func (t *leaseTable) hold(ctx context.Context, op, id string, fn func() error) error {
	l := tableLease{t: t, op: op, id: id}
	h := holderFor(ctx, "discard")
	again, err := l.acquire(ctx, h, leaseTTL)
	if err != nil {
		return err
	}
	if !again {
		defer l.free(ctx, h)
	}
	return fn()
}

// tableLease is the lease of one item of a leaseTable.
type tableLease struct {
	t      *leaseTable
	op, id string
}

func (l tableLease) acquire(_ context.Context, h LeaseHolder, ttl time.Duration) (bool, error) {
	t := l.t
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[l.id]; ok && now.Before(e.until) {
		if e.h.Token == h.Token {
			return true, nil
		}
		return false, busyError(l.op, l.id, e.h.Name, e.until.Sub(now))
	}
	if t.m == nil {
		t.m = make(map[string]leaseEntry)
	}
	if len(t.m) >= t.sweepAt {
		for id, e := range t.m {
			if !now.Before(e.until) {
				delete(t.m, id)
			}
		}
		t.sweepAt = max(64, 2*len(t.m))
	}
	t.m[l.id] = leaseEntry{h: h, until: now.Add(ttl)}
	return false, nil
}

func (l tableLease) renew(_ context.Context, h LeaseHolder, ttl time.Duration) error {
	t := l.t
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[l.id]
	if !ok || e.h.Token != h.Token || !now.Before(e.until) {
		return errLeaseLost
	}
	e.until = now.Add(ttl)
	t.m[l.id] = e
	return nil
}

func (l tableLease) free(_ context.Context, h LeaseHolder) {
	t := l.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[l.id]; ok && e.h.Token == h.Token {
		delete(t.m, l.id)
	}
}
