package sinks

import "strconv"

// itemIndex keeps a DLQ's live entries in push order, with a chain per sink,
// so that Push, Discard, Get and Count are O(1) and a page of the newest
// items is O(page). MemoryDLQ keeps the items in it; FileDLQ keeps where
// they are on disk. It is not safe for concurrent use: the store locks.
type itemIndex[T any] struct {
	byID  map[uint64]*indexNode[T]
	all   chain[T]
	sinks map[string]*chain[T]
}

type indexNode[T any] struct {
	seq   uint64
	sink  string
	val   T
	older [2]*indexNode[T] // [0] in all items, [1] in the sink's chain
	newer [2]*indexNode[T]
}

type chain[T any] struct {
	oldest, newest *indexNode[T]
	n              int
}

func newItemIndex[T any]() *itemIndex[T] {
	return &itemIndex[T]{byID: make(map[uint64]*indexNode[T]), sinks: make(map[string]*chain[T])}
}

func (c *chain[T]) push(n *indexNode[T], k int) {
	n.older[k], n.newer[k] = c.newest, nil
	if c.newest != nil {
		c.newest.newer[k] = n
	} else {
		c.oldest = n
	}
	c.newest = n
	c.n++
}

func (c *chain[T]) unlink(n *indexNode[T], k int) {
	if n.older[k] != nil {
		n.older[k].newer[k] = n.newer[k]
	} else {
		c.oldest = n.newer[k]
	}
	if n.newer[k] != nil {
		n.newer[k].older[k] = n.older[k]
	} else {
		c.newest = n.older[k]
	}
	n.older[k], n.newer[k] = nil, nil
	c.n--
}

// insert places n after older (nil = as the oldest).
func (c *chain[T]) insert(n, older *indexNode[T], k int) {
	if older == c.newest {
		c.push(n, k)
		return
	}
	var newer *indexNode[T]
	if older == nil {
		newer = c.oldest
		c.oldest = n
	} else {
		newer = older.newer[k]
		older.newer[k] = n
	}
	n.older[k], n.newer[k] = older, newer
	newer.older[k] = n
	c.n++
}

// place inserts n by seq, searching from the newest end (where new entries
// almost always go).
func (c *chain[T]) place(n *indexNode[T], k int) {
	at := c.newest
	for at != nil && at.seq > n.seq {
		at = at.older[k]
	}
	c.insert(n, at, k)
}

// add adds an entry in seq order; seq must be new. Adding entries in
// increasing seq order, as stores do, costs O(1) each.
func (x *itemIndex[T]) add(seq uint64, sink string, val T) *indexNode[T] {
	n := &indexNode[T]{seq: seq, sink: sink, val: val}
	x.byID[seq] = n
	x.all.place(n, 0)
	c := x.sinks[sink]
	if c == nil {
		c = &chain[T]{}
		x.sinks[sink] = c
	}
	c.place(n, 1)
	return n
}

// remove drops seq and reports whether it was there.
func (x *itemIndex[T]) remove(seq uint64) (*indexNode[T], bool) {
	n, ok := x.byID[seq]
	if !ok {
		return nil, false
	}
	delete(x.byID, seq)
	x.all.unlink(n, 0)
	c := x.sinks[n.sink]
	c.unlink(n, 1)
	if c.n == 0 {
		delete(x.sinks, n.sink)
	}
	return n, true
}

func (x *itemIndex[T]) get(seq uint64) (*indexNode[T], bool) {
	n, ok := x.byID[seq]
	return n, ok
}

func (x *itemIndex[T]) oldest() *indexNode[T] { return x.all.oldest }

// count returns the number of entries of sink ("" = all).
func (x *itemIndex[T]) count(sink string) int {
	if sink == "" {
		return x.all.n
	}
	if c := x.sinks[sink]; c != nil {
		return c.n
	}
	return 0
}

// bySink returns the size of each sink's chain.
func (x *itemIndex[T]) bySink() map[string]int64 {
	out := make(map[string]int64, len(x.sinks))
	for s, c := range x.sinks {
		out[s] = int64(c.n)
	}
	return out
}

// walk calls fn on the entries of sink ("" = all), newest first, starting
// with the newest entry older than before (0 = from the newest), until fn
// returns false.
func (x *itemIndex[T]) walk(sink string, before uint64, fn func(*indexNode[T]) bool) {
	k, c := 0, &x.all
	if sink != "" {
		k, c = 1, x.sinks[sink]
		if c == nil {
			return
		}
	}
	n := c.newest
	if before != 0 {
		if at, ok := x.byID[before]; ok && (sink == "" || at.sink == sink) {
			n = at.older[k]
		} else {
			for n != nil && n.seq >= before { // the cursor's item is gone: find its place
				n = n.older[k]
			}
		}
	}
	for ; n != nil; n = n.older[k] {
		if !fn(n) {
			return
		}
	}
}

// formatID and parseID convert between a sequence number and an item ID.
func formatID(seq uint64) string { return strconv.FormatUint(seq, 10) }

func parseID(id string) (uint64, bool) {
	seq, err := strconv.ParseUint(id, 10, 64)
	return seq, err == nil && seq > 0
}
