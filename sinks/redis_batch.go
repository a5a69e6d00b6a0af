package sinks

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxRedisBatch bounds the writes of one pipeline.
const maxRedisBatch = 512

// redisBatch is group commit for Redis writes (RedisDLQ pushes, RedisQueue
// enqueues): the writes that arrive while a pipeline is in flight wait and
// go together as the next pipeline, one round trip (per Cluster node) for
// all of them, and each caller gets its own commands' results. Under load
// the round trips are shared; alone, a write is a pipeline of one.
//
// It has no goroutine of its own, so there is nothing to stop or to leak:
// the caller whose write finds no pipeline in flight sends one, and when it
// is done it hands the turn to a caller whose write is waiting, who sends
// every write queued by then.
type redisBatch struct {
	mu      sync.Mutex
	queued  []*batchWrite
	sending bool
}

// batchWrite is one caller's commands and the signal of its turn: false
// when its commands ran, true when it must send the next pipeline.
type batchWrite struct {
	add  func(redis.Pipeliner)
	turn chan bool
}

// do queues the commands add puts in a pipeline and returns once they ran;
// the caller then reads them. The pipeline runs on a context of its own,
// detached from any caller's cancellation and bounded by timeout (that of
// the caller that sends it).
func (b *redisBatch) do(ctx context.Context, c redis.UniversalClient, timeout time.Duration, add func(redis.Pipeliner)) {
	w := &batchWrite{add: add, turn: make(chan bool, 1)}
	b.mu.Lock()
	b.queued = append(b.queued, w)
	if b.sending {
		b.mu.Unlock()
		if !<-w.turn {
			return
		}
		b.mu.Lock()
	}
	b.sending = true
	batch := b.queued
	if len(batch) > maxRedisBatch {
		batch, b.queued = batch[:maxRedisBatch], append([]*batchWrite(nil), batch[maxRedisBatch:]...)
	} else {
		b.queued = nil
	}
	b.mu.Unlock()

	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	// Each command carries its own error; Pipelined's is the first of them.
	_, _ = c.Pipelined(pctx, func(p redis.Pipeliner) error {
		for _, o := range batch {
			o.add(p)
		}
		return nil
	})
	cancel()
	for _, o := range batch {
		if o != w {
			o.turn <- false
		}
	}

	b.mu.Lock()
	if len(b.queued) == 0 {
		b.sending = false
		b.mu.Unlock()
		return
	}
	next := b.queued[0]
	b.mu.Unlock()
	next.turn <- true
}
