package sinks

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// OnceQueue is a Queue that can enqueue a task at most once per key, and be
// probed: the capability FallbackQueue needs from its primary to move tasks
// without duplicates. RedisQueue is one.
type OnceQueue interface {
	Queue
	// EnqueueOnce stores t unless a task was stored under key before
	// (within a retention of days); either way a nil error means the task
	// of key is in the queue or was.
	EnqueueOnce(ctx context.Context, t *Task, key string) error
	// Ping reports whether the queue answers.
	Ping(ctx context.Context) error
}

// FallbackQueue is a Queue that keeps accepting messages while its primary
// (a RedisQueue shared by several processes) is down: an Enqueue the
// primary does not take goes to a local Queue (a FileQueue on the
// machine's disk), and a background mover brings those tasks to the
// primary once it answers again, each exactly once: every move goes
// through the primary's EnqueueOnce under the task's delivery id, so a
// move interrupted between the primary's write and the local consume (a
// crash) is not repeated.
//
// Consume, Sinks and Pending are the primary's (Pending adds what waits
// locally): the tasks are delivered from the shared queue only, by
// whichever process takes them. After a failed Enqueue, later ones go
// straight to the local queue until the mover reaches the primary again,
// so an outage costs one timeout, not one per message.
type FallbackQueue struct {
	primary OnceQueue
	local   Queue
	log     *slog.Logger

	interval time.Duration
	down     atomic.Bool
	moved    atomic.Int64

	mu      sync.Mutex
	movers  map[string]bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  bool
	healthy chan struct{} // closed and replaced when the primary answers again
}

// NewFallbackQueue returns a FallbackQueue over primary and local and
// starts its mover, which runs until Close and probes a primary that is
// down every second. The option that applies is WithLogger.
func NewFallbackQueue(primary OnceQueue, local Queue, opts ...StoreOption) (*FallbackQueue, error) {
	if primary == nil || local == nil {
		return nil, Errorf(CodeInvalidArgument, "NewFallbackQueue", "a primary and a local queue are required")
	}
	o := fallbackOptions(opts)
	f := &FallbackQueue{primary: primary, local: local, log: o.logger, interval: o.moveInterval,
		movers: make(map[string]bool), healthy: make(chan struct{})}
	names, err := local.Sinks()
	if err != nil {
		return nil, err
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.mu.Lock()
	for _, name := range names {
		f.startMoverLocked(name)
	}
	f.mu.Unlock()
	f.wg.Go(f.probe)
	return f, nil
}

// Enqueue stores t in the primary, or in the local queue when the primary
// fails or is known to be down. It fails only when both do.
func (f *FallbackQueue) Enqueue(ctx context.Context, t *Task) error {
	if !f.down.Load() {
		err := f.primary.EnqueueOnce(ctx, t, onceKey(t))
		if err == nil || ctx.Err() != nil {
			return err
		}
		if f.down.CompareAndSwap(false, true) {
			f.log.Warn("the shared queue is unavailable; async messages are kept on local disk until it is back", "err", err)
		}
	}
	if err := f.local.Enqueue(ctx, t); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.startMoverLocked(t.Sink)
	return nil
}

// onceKey is the identity of a task across a move: its delivery id.
func onceKey(t *Task) string { return t.Sink + "\x00" + t.DeliveryID }

// Consume consumes the primary.
func (f *FallbackQueue) Consume(ctx context.Context, sink string, n int, handle TaskHandler) error {
	return f.primary.Consume(ctx, sink, n, handle)
}

// Sinks names the sinks of both queues.
func (f *FallbackQueue) Sinks() ([]string, error) {
	a, err := f.primary.Sinks()
	if err != nil {
		return nil, err
	}
	b, err := f.local.Sinks()
	if err != nil {
		return nil, err
	}
	names := append(a, b...)
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Pending adds up what both queues hold for sink.
func (f *FallbackQueue) Pending(sink string) (int64, error) {
	b, err := f.local.Pending(sink)
	if err != nil {
		return 0, err
	}
	a, err := f.primary.Pending(sink)
	return a + b, err
}

// Moved returns how many tasks the mover brought to the primary.
func (f *FallbackQueue) Moved() int64 { return f.moved.Load() }

// Down reports whether the primary is taken for down.
func (f *FallbackQueue) Down() bool { return f.down.Load() }

// Close stops the mover and closes both queues (what is still local stays
// on disk for the next start). It is idempotent.
func (f *FallbackQueue) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	f.cancel()
	f.wg.Wait()
	return errors.Join(f.local.Close(), f.primary.Close())
}

// probe pings a primary taken for down every interval and wakes the
// movers when it answers.
func (f *FallbackQueue) probe() {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
		if !f.down.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(f.ctx, defaultFallbackProbeTimeout)
		err := f.primary.Ping(ctx)
		cancel()
		if err == nil && f.down.CompareAndSwap(true, false) {
			f.log.Info("the shared queue is back; moving the async messages kept on local disk")
			f.mu.Lock()
			close(f.healthy)
			f.healthy = make(chan struct{})
			f.mu.Unlock()
		}
	}
}

// startMoverLocked starts the mover of sink unless it runs. f.mu is held.
func (f *FallbackQueue) startMoverLocked(sink string) {
	if f.movers[sink] || f.closed {
		return
	}
	f.movers[sink] = true
	f.wg.Go(func() { f.move(sink) })
}

// move moves the local tasks of sink to the primary while it is up, and
// waits while it is down.
func (f *FallbackQueue) move(sink string) {
	for f.ctx.Err() == nil {
		f.mu.Lock()
		healthy := f.healthy
		f.mu.Unlock()
		if f.down.Load() {
			select {
			case <-f.ctx.Done():
				return
			case <-healthy:
			}
			continue
		}
		ctx, stop := context.WithCancel(f.ctx)
		err := f.local.Consume(ctx, sink, 1, func(ctx context.Context, t *Task) Outcome {
			if err := f.primary.EnqueueOnce(ctx, t, onceKey(t)); err != nil {
				if ctx.Err() == nil && f.down.CompareAndSwap(false, true) {
					f.log.Warn("the shared queue is unavailable again; moves paused", "err", err)
				}
				stop() // wait for the probe rather than try every task
				return OutcomeKeep
			}
			f.moved.Add(1)
			return OutcomeDone
		})
		stop()
		if f.ctx.Err() == nil && err != nil && !errors.Is(err, context.Canceled) {
			f.log.Error("sinks: fallback queue: cannot read the local queue", "sink", sink, "err", err)
			select {
			case <-f.ctx.Done():
			case <-time.After(f.interval):
			}
		}
	}
}
