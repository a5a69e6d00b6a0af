package sinks

import (
	"context"
	"sync"
	"time"
)

// MemoryDLQ is an in-process, bounded DLQ: a Store whose items live in
// memory and are lost when the process ends. Push, Discard, Get and Count
// are O(1); Items is O(limit). It stores copies (the recipient as JSON) and
// returns copies, so no caller shares a map or slice with it.
//
// Unlike the original API's, it is bounded: at most 100,000 items (see
// WithMaxItems) with an explicit OverflowPolicy, and what a policy drops is
// counted in Stats.Dropped. The zero MemoryDLQ is ready to
// use with the defaults.
type MemoryDLQ struct {
	mu      sync.Mutex
	init    bool
	opts    storeOptions
	idx     *itemIndex[DLQItem]
	seq     uint64
	dropped int64
	closed  bool
	lookup  lookupSlot
	leases  leaseTable
}

var (
	_ Store  = (*MemoryDLQ)(nil)
	_ Leaser = (*MemoryDLQ)(nil)
)

// NewMemoryDLQ returns an empty MemoryDLQ configured by opts.
func NewMemoryDLQ(opts ...StoreOption) *MemoryDLQ {
	m := &MemoryDLQ{}
	m.opts = buildStoreOptions(storeOptions{}, defaultMemoryMaxItems, opts)
	m.init = true
	return m
}

// lock locks m, making the zero value usable, and fails once m is closed.
func (m *MemoryDLQ) lock(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if !m.init {
		m.opts = buildStoreOptions(storeOptions{}, defaultMemoryMaxItems, nil)
		m.init = true
	}
	if m.closed {
		m.mu.Unlock()
		return Errorf(CodeClosed, op, "the DLQ is closed")
	}
	if m.idx == nil {
		m.idx = newItemIndex[DLQItem]()
	}
	return nil
}

// Push records item under a new ID.
func (m *MemoryDLQ) Push(ctx context.Context, item DLQItem) error {
	_, err := m.Add(ctx, item)
	return err
}

// Add records item and returns the ID it assigned. A full DLQ applies its
// OverflowPolicy.
func (m *MemoryDLQ) Add(ctx context.Context, item DLQItem) (string, error) {
	it, err := storable("MemoryDLQ.Add", item)
	if err != nil {
		return "", err
	}
	if err := m.lock(ctx, "MemoryDLQ.Add"); err != nil {
		return "", err
	}
	defer m.mu.Unlock()
	if max := m.opts.maxItems; max > 0 && m.idx.count("") >= max {
		if m.opts.overflow != OverflowDropOldest {
			return "", Errorf(CodeDLQOverflow, "MemoryDLQ.Add", "the DLQ holds its maximum of %d items", max)
		}
		m.idx.remove(m.idx.oldest().seq)
		m.dropped++
	}
	m.seq++
	it.ID = formatID(m.seq)
	m.idx.add(m.seq, it.Sink, it)
	return it.ID, nil
}

// Items returns up to limit items of sink ("" = all), newest first; a limit
// of 0 or less returns them all.
func (m *MemoryDLQ) Items(ctx context.Context, sink string, limit int) ([]DLQItem, error) {
	items, _, err := m.List(ctx, Filter{Sink: sink}, "", limit)
	return items, err
}

// List returns a page of the items that match f, newest first.
func (m *MemoryDLQ) List(ctx context.Context, f Filter, cursor string, limit int) ([]DLQItem, string, error) {
	before, err := parseCursor("MemoryDLQ.List", cursor)
	if err != nil {
		return nil, "", err
	}
	if err := m.lock(ctx, "MemoryDLQ.List"); err != nil {
		return nil, "", err
	}
	defer m.mu.Unlock()
	var out []DLQItem
	next := ""
	m.idx.walk(f.Sink, before, func(n *indexNode[DLQItem]) bool {
		if !f.Match(&n.val) {
			return true
		}
		if limit > 0 && len(out) == limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, cloneItem(n.val))
		return true
	})
	return out, next, nil
}

// Get returns the item with id.
func (m *MemoryDLQ) Get(ctx context.Context, id string) (DLQItem, error) {
	if err := m.lock(ctx, "MemoryDLQ.Get"); err != nil {
		return DLQItem{}, err
	}
	defer m.mu.Unlock()
	if seq, ok := parseID(id); ok {
		if n, ok := m.idx.get(seq); ok {
			return cloneItem(n.val), nil
		}
	}
	return DLQItem{}, Errorf(CodeNotFound, "MemoryDLQ.Get", "no item %q", id)
}

// Update replaces the item with item.ID, keeping its place in the order.
func (m *MemoryDLQ) Update(ctx context.Context, item DLQItem) error {
	it, err := storable("MemoryDLQ.Update", item)
	if err != nil {
		return err
	}
	if err := m.lock(ctx, "MemoryDLQ.Update"); err != nil {
		return err
	}
	defer m.mu.Unlock()
	seq, ok := parseID(it.ID)
	n, found := m.idx.get(seq)
	if !ok || !found {
		return Errorf(CodeNotFound, "MemoryDLQ.Update", "no item %q", it.ID)
	}
	if n.sink != it.Sink {
		return Errorf(CodeInvalidArgument, "MemoryDLQ.Update", "item %s belongs to sink %q, not %q", it.ID, n.sink, it.Sink)
	}
	n.val = it
	return nil
}

// Count returns the number of items of sink ("" = all), in O(1).
func (m *MemoryDLQ) Count(ctx context.Context, sink string) (int, error) {
	if err := m.lock(ctx, "MemoryDLQ.Count"); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	return m.idx.count(sink), nil
}

// Discard removes id, in O(1). A missing id is not an error; an item
// another holder has leased is (ErrBusy).
func (m *MemoryDLQ) Discard(ctx context.Context, id string) error {
	const op = "MemoryDLQ.Discard"
	seq, _ := parseID(id) // 0, which no item has, when malformed
	return m.leases.hold(ctx, op, formatID(seq), func() error {
		if err := m.lock(ctx, op); err != nil {
			return err
		}
		defer m.mu.Unlock()
		m.idx.remove(seq)
		return nil
	})
}

// Lease takes the lease on item id (see Leaser). The leases live in this
// process, like the items.
func (m *MemoryDLQ) Lease(ctx context.Context, id string, ttl time.Duration) (func(), error) {
	const op = "MemoryDLQ.Lease"
	return m.leases.leaseSeq(ctx, op, id, ttl, func() error {
		if err := m.lock(ctx, op); err != nil {
			return err
		}
		m.mu.Unlock()
		return nil
	})
}

// Stats reports the item counts and what the overflow policy dropped.
// Bytes is -1: the memory used is not measured.
func (m *MemoryDLQ) Stats(ctx context.Context) (Stats, error) {
	if err := m.lock(ctx, "MemoryDLQ.Stats"); err != nil {
		return Stats{}, err
	}
	defer m.mu.Unlock()
	return Stats{Items: int64(m.idx.count("")), BySink: m.idx.bySink(), Dropped: m.dropped, Bytes: -1}, nil
}

// SetRegistryLookup wires Replay to the sinks (NewRegistry with WithDLQ
// does it).
func (m *MemoryDLQ) SetRegistryLookup(fn RegistryLookup) { m.lookup.set(fn) }

// Replay re-sends id through its sink; see ReplayItem.
func (m *MemoryDLQ) Replay(ctx context.Context, id string) error {
	return ReplayItem(ctx, m, m.lookup.get(), id)
}

// Close empties the DLQ and makes later calls fail with ErrClosed. It is
// idempotent.
func (m *MemoryDLQ) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.idx = nil
	return nil
}

// parseCursor turns a List cursor into the sequence number to start below.
func parseCursor(op, cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	seq, ok := parseID(cursor)
	if !ok {
		return 0, Errorf(CodeInvalidArgument, op, "malformed cursor %q", cursor)
	}
	return seq, nil
}
