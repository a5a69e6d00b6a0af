package dletter

import (
	"sync"
	"sync/atomic"

	"github.com/dletter/dletter/internal/checkpoint"
)

// window holds the lines of a rotated file that a Replay has in hand: from
// its checkpoint, the oldest line not yet consumed, up to the line being
// read, at most size of them. Lines are consumed out of order when handlers
// run concurrently (size > 1); the checkpoint moves only over a run of
// consumed lines, so a crash repeats at most the lines in the window.
//
// With size 1 the lines are consumed in order by Replay's own goroutine and
// the window costs no lock.
type window struct {
	size  uint64
	items *atomic.Int64 // the retry log's item count
	cp    *checkpoint.Checkpoint
	wg    sync.WaitGroup // the handlers in flight
	room  chan struct{}  // a token each time low moves

	mu   sync.Mutex
	low  uint64   // the oldest line not consumed, as checkpointed
	done []bool   // done[i%size]: line i, low <= i < low+size, is consumed
	bufs [][]byte // bufs[i%size]: line i's copy, handed to its handler
}

// maxKeptLine is the largest line copy a window keeps for the next line.
const maxKeptLine = 64 << 10

func (w *window) init(size int, items *atomic.Int64) {
	w.size = uint64(size)
	w.items = items
	w.done = make([]bool, size)
	if size > 1 {
		w.bufs = make([][]byte, size)
		w.room = make(chan struct{}, 1)
	}
}

// start begins a file whose checkpoint cp says skip lines are consumed. The
// previous file's handlers have all returned (see wait).
func (w *window) start(cp *checkpoint.Checkpoint, skip uint64) {
	w.mu.Lock()
	w.cp, w.low = cp, skip
	clear(w.done)
	w.mu.Unlock()
}

// admit waits until line n is inside the window, and reports false if done
// is closed first.
func (w *window) admit(n uint64, done <-chan struct{}) bool {
	if w.size == 1 {
		return true // the line before n is consumed: consume returned
	}
	for {
		w.mu.Lock()
		ok := n < w.low+w.size
		w.mu.Unlock()
		if ok {
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
	moved := false
	for w.done[w.low%w.size] {
		w.done[w.low%w.size] = false
		w.low++
		moved = true
	}
	if moved {
		w.cp.Store(w.low)
	}
	w.mu.Unlock()
	if moved {
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

// wait waits for the handlers in flight to return.
func (w *window) wait() { w.wg.Wait() }
