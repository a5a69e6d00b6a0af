package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// fallbackItem is where the item of a FallbackDLQ ID is.
type fallbackItem struct {
	st Store  // the local store or the primary
	id string // the item's ID there
	// it is the item as Get returns it, when locate read it.
	it DLQItem
}

// locate finds the item of id: in the local store while it is there (under
// a local ID, or a bare one as handed out before); for a local ID of an
// item that moved, in the primary under the alias the mover recorded;
// else in the primary. With get, it reads the item (an item of the primary
// is read only then; an item of the local store always is). An ID that
// names nothing is an error matching ErrNotFound.
func (f *FallbackDLQ) locate(ctx context.Context, op, id string, get bool) (fallbackItem, error) {
	if lid, tag, ok := parseLocalID(id); ok {
		it, err := f.local.Get(ctx, lid)
		switch {
		case err == nil && localTag(it) == tag:
			it.ID = id
			return fallbackItem{st: f.local, id: lid, it: it}, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return fallbackItem{}, err
		}
		// Moved, or another item has that local ID now.
		return f.locateMoved(ctx, op, id, get)
	}
	it, err := f.local.Get(ctx, id)
	if err == nil {
		lid := it.ID
		it.ID = formatLocalID(it)
		return fallbackItem{st: f.local, id: lid, it: it}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return fallbackItem{}, err
	}
	return f.inPrimary(ctx, id, get)
}

// locateMoved finds the item that local ID id named before it moved.
func (f *FallbackDLQ) locateMoved(ctx context.Context, op, id string, get bool) (fallbackItem, error) {
	a, ok := f.primary.(AliasStore)
	if !ok {
		return fallbackItem{}, &Error{Code: CodeNotFound, Op: op, Msg: fmt.Sprintf("no item %q", id)}
	}
	newID, err := a.ResolveAlias(ctx, id)
	if err != nil {
		return fallbackItem{}, err
	}
	return f.inPrimary(ctx, newID, get)
}

func (f *FallbackDLQ) inPrimary(ctx context.Context, id string, get bool) (fallbackItem, error) {
	loc := fallbackItem{st: f.primary, id: id}
	if !get {
		return loc, nil
	}
	var err error
	loc.it, err = f.primary.Get(ctx, id)
	return loc, err
}

// pin locates the item of id and, when it is in the local store, takes its
// lease there for ttl, so that the mover leaves it until release: the
// mover holds that lease while it moves an item, so one found here after
// the lease is taken stays here. An item of the primary is not leased.
func (f *FallbackDLQ) pin(ctx context.Context, op, id string, ttl time.Duration) (fallbackItem, func(), error) {
	for {
		loc, err := f.locate(ctx, op, id, false)
		l, ok := f.local.(Leaser)
		if err != nil || loc.st != f.local || !ok {
			return loc, func() {}, err
		}
		release, err := l.Lease(ctx, loc.id, ttl)
		if err != nil {
			return loc, func() {}, err
		}
		again, err := f.locate(ctx, op, id, false)
		if err != nil {
			release()
			return loc, func() {}, err
		}
		if again.st == f.local && again.id == loc.id {
			return loc, release, nil
		}
		// It moved before the lease was taken: look again, in the
		// primary this time.
		release()
	}
}

// Get returns the item with id wherever it is; see locate. The item of a
// local ID that moved comes with its new ID.
func (f *FallbackDLQ) Get(ctx context.Context, id string) (DLQItem, error) {
	const op = "FallbackDLQ.Get"
	if err := f.checkOpen(op); err != nil {
		return DLQItem{}, err
	}
	loc, err := f.locate(ctx, op, id, true)
	return loc.it, err
}

// Update replaces the item with item.ID wherever it is.
func (f *FallbackDLQ) Update(ctx context.Context, item DLQItem) error {
	const op = "FallbackDLQ.Update"
	if err := f.checkOpen(op); err != nil {
		return err
	}
	for tries := 0; ; tries++ {
		loc, err := f.locate(ctx, op, item.ID, false)
		if err != nil {
			return err
		}
		it := item
		it.ID = loc.id
		err = loc.st.Update(ctx, it)
		if loc.st == f.local && errors.Is(err, ErrNotFound) && tries == 0 {
			continue // moved meanwhile: once more, in the primary
		}
		return err
	}
}

// Discard removes the item with id wherever it is. A missing id is not an
// error; an item another holder has leased is (ErrBusy).
func (f *FallbackDLQ) Discard(ctx context.Context, id string) error {
	const op = "FallbackDLQ.Discard"
	if err := f.checkOpen(op); err != nil {
		return err
	}
	ctx = ensureHolder(ctx, "discard")
	loc, release, err := f.pin(ctx, op, id, leaseTTL)
	defer release()
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return loc.st.Discard(ctx, loc.id)
}

// Lease takes the lease on item id (see Leaser) in the store that holds
// it: the local store while the item is there (the mover then leaves it
// there until release), else the primary. A store that is not a Leaser
// leases nothing. A local ID that names no item any more (discarded, or
// its alias expired) is an error matching ErrNotFound.
func (f *FallbackDLQ) Lease(ctx context.Context, id string, ttl time.Duration) (func(), error) {
	const op = "FallbackDLQ.Lease"
	if err := f.checkOpen(op); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, Errorf(CodeInvalidArgument, op, "lease TTL %v is not positive", ttl)
	}
	ctx = ensureHolder(ctx, "lease")
	loc, release, err := f.pin(ctx, op, id, ttl)
	if err != nil || loc.st == f.local {
		return release, err
	}
	if l, ok := f.primary.(Leaser); ok {
		return l.Lease(ctx, loc.id, ttl)
	}
	return func() {}, nil
}
