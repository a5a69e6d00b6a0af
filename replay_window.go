package dletter

import (
	"sync"
	"sync/atomic"

	"github.com/dletter/dletter/internal/checkpoint"
)

// window holds the lines of a rotated file that a Replay has in hand: from
// its checkpoint, the oldest line not yet consumed, up to the line being
// read. Lines are consumed out of order when handlers run concurrently
// (size > 1); the checkpoint moves only over a run of consumed lines, so a
// crash repeats at most the lines in the window.
//
// A Replay in follow mode has several files open at once, each with its own
// window; their lines in hand together are at most size (see hand).
//
// With size 1 the lines are consumed in order by Replay's own goroutine and
// the window costs no lock.
type window struct {
	*hand
	cp *checkpoint.Checkpoint
	wg sync.WaitGroup // the file's handlers in flight

	mu   sync.Mutex
	low  uint64   // the oldest line not consumed, as checkpointed
	done []bool   // done[i%size]: line i, low <= i < low+size, is consumed
	bufs [][]byte // bufs[i%size]: line i's copy, handed to its handler
}

// hand is what the windows of one Replay share: the bound on the lines in
// hand across every file it has open.
type hand struct {
	size  uint64
	items *atomic.Int64 // the retry log's item count
	room  chan struct{} // a token each time the low of a window moves
	held  atomic.Uint64 // lines in hand in every window (size > 1)
}

// maxKeptLine is the largest line copy a window keeps for the next line.
const maxKeptLine = 64 << 10

func (w *window) init(size int, items *atomic.Int64) {
	w.hand = &hand{size: uint64(size), items: items}
	if size > 1 {
		w.room = make(chan struct{}, 1)
	}
	w.alloc()
}

func (w *window) alloc() {
	w.done = make([]bool, w.size)
	if w.size > 1 {
		w.bufs = make([][]byte, w.size)
	}
}

// sibling returns a new window for another file, sharing w's bound.
func (w *window) sibling() *window {
	s := &window{hand: w.hand}
	s.alloc()
	return s
}

// start begins a file whose checkpoint cp says skip lines are consumed. The
// previous file of this window has no handler in flight (see wait).
func (w *window) start(cp *checkpoint.Checkpoint, skip uint64) {
	w.mu.Lock()
	w.cp, w.low = cp, skip
	clear(w.done)
	w.mu.Unlock()
}

// admit waits until line n can be taken in hand without the lines in hand,
// across every window, exceeding size, and reports false if done is closed
// first. Lines are admitted in order, by one goroutine.
func (w *window) admit(n uint64, done <-chan struct{}) bool {
	if w.size == 1 {
		return true // the line before n is consumed: consume returned
	}
	for {
		// held counts this window's lines low..n-1, so n < low+size.
		if w.held.Load() < w.size {
			w.held.Add(1)
			return true
		}
		select {
		case <-w.room:
		case <-done:
			return false
		}
	}
}

// hold returns the text of line n to work on: with size > 1 a copy that
// stays valid until the line is consumed (the line reader reuses its
// buffer), else text itself.
func (w *window) hold(n uint64, text []byte) []byte {
	if w.size == 1 {
		return text
	}
	// The previous line in this slot, n-size, is consumed: admit saw low
	// move past it.
	i := n % w.size
	buf := append(w.bufs[i][:0], text...)
	w.bufs[i] = buf
	if cap(buf) > maxKeptLine {
		w.bufs[i] = nil
	}
	return buf
}

// finish counts line n as consumed (its outcome is written) and moves the
// checkpoint over every consumed line from the oldest one on. item says
// whether the line held an item of the retry log.
func (w *window) finish(n uint64, item bool) {
	if item {
		w.items.Add(-1)
	}
	if w.size == 1 {
		w.low = n + 1
		w.cp.Store(w.low)
		return
	}
	w.mu.Lock()
	w.done[n%w.size] = true
	var moved uint64
	for w.done[w.low%w.size] {
		w.done[w.low%w.size] = false
		w.low++
		moved++
	}
	if moved > 0 {
		w.cp.Store(w.low)
	}
	w.mu.Unlock()
	if moved > 0 {
		w.held.Add(-moved)
		select {
		case w.room <- struct{}{}:
		default:
		}
	}
}

// consumed returns how many lines of the file are consumed without a gap.
func (w *window) consumed() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.low
}

// wait waits for the file's handlers in flight to return.
func (w *window) wait() { w.wg.Wait() }
