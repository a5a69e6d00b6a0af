package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisConsumer is one Consume call of a RedisQueue: a loop that reads and
// claims entries, moves due retries and renews leases, and a goroutine per
// entry being handled.
type redisConsumer struct {
	q      *RedisQueue
	sink   string
	k      redisQueueKeys
	handle TaskHandler
	tokens chan struct{} // one per handler that may start

	wg        sync.WaitGroup
	stop      context.CancelCauseFunc
	claimFrom string // XAUTOCLAIM cursor

	mu       sync.Mutex
	inFlight map[string]bool // entry ids being handled
	failed   error           // the first outcome that could not be written
}

// run runs the loop until ctx ends or the server fails, then waits for the
// handlers.
func (c *redisConsumer) run(ctx context.Context) error {
	loopCtx, stop := context.WithCancelCause(ctx)
	c.stop = stop
	err := c.loop(ctx, loopCtx)
	stop(nil)
	c.wg.Wait()
	c.mu.Lock()
	failed := c.failed
	c.mu.Unlock()
	switch {
	case failed != nil:
		return failed
	case ctx.Err() != nil:
		return context.Cause(ctx)
	}
	return err
}

func (c *redisConsumer) loop(ctx, loopCtx context.Context) error {
	op := "RedisQueue.Consume"
	if err := c.ensureGroup(loopCtx); err != nil {
		return err
	}
	if err := c.readOwn(ctx, loopCtx); err != nil {
		return err
	}
	var moved, touched, reaped time.Time
	for loopCtx.Err() == nil {
		if time.Since(reaped) >= redisQueueReapEvery {
			reaped = time.Now()
			if err := c.reap(loopCtx, redisQueueReapIdle); err != nil {
				return err
			}
		}
		free := c.take(loopCtx)
		if time.Since(touched) >= c.q.lease/3 {
			touched = time.Now()
			if err := c.renew(loopCtx); err != nil {
				c.give(free)
				return err
			}
		}
		if time.Since(moved) >= c.q.poll {
			moved = time.Now()
			if err := c.maintain(ctx, loopCtx, &free); err != nil {
				c.give(free)
				return err
			}
		}
		if free == 0 {
			continue
		}
		msgs, err := c.read(loopCtx, ">", free, c.q.poll)
		if err != nil {
			c.give(free)
			if loopCtx.Err() != nil {
				return nil
			}
			if redis.HasErrorPrefix(err, "NOGROUP") { // the stream was deleted
				if err := c.ensureGroup(loopCtx); err != nil {
					return err
				}
				continue
			}
			return redisFailed(op, "XREADGROUP "+c.k.stream, err)
		}
		if len(msgs) == 0 {
			moved = time.Time{} // idle: look for due retries at once
		}
		c.dispatch(ctx, msgs, &free)
		c.give(free)
	}
	return nil
}

// ensureGroup creates the stream and its group unless they exist. A new
// group starts at the stream's first entry, so no task is skipped.
func (c *redisConsumer) ensureGroup(ctx context.Context) error {
	err := c.q.client.XGroupCreateMkStream(ctx, c.k.stream, redisQueueGroup, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return redisFailed("RedisQueue.Consume", "XGROUP CREATE "+c.k.stream, err)
	}
	return nil
}

// readOwn hands out again the entries pending under this consumer's name:
// what a previous process of the same name left unfinished.
func (c *redisConsumer) readOwn(ctx, loopCtx context.Context) error {
	cursor := "0"
	for loopCtx.Err() == nil {
		free := c.take(loopCtx)
		if free == 0 {
			continue
		}
		msgs, err := c.read(loopCtx, cursor, free, -1)
		if err != nil {
			c.give(free)
			if loopCtx.Err() != nil {
				return nil
			}
			return redisFailed("RedisQueue.Consume", "XREADGROUP 0 "+c.k.stream, err)
		}
		if len(msgs) == 0 {
			c.give(free)
			return nil
		}
		cursor = msgs[len(msgs)-1].ID
		c.dispatch(ctx, msgs, &free)
		c.give(free)
	}
	return nil
}

// read is one XREADGROUP of up to count entries after id (">": new ones),
// blocking up to block (< 0: not at all).
func (c *redisConsumer) read(ctx context.Context, id string, count int, block time.Duration) ([]redis.XMessage, error) {
	res, err := c.q.client.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: redisQueueGroup, Consumer: c.q.consumer, Streams: []string{c.k.stream, id},
		Count: int64(count), Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil || len(res) == 0 {
		return nil, err
	}
	return res[0].Messages, nil
}

// maintain moves due retries into the stream and claims entries whose lease
// ran out, up to *free of them.
func (c *redisConsumer) maintain(ctx, loopCtx context.Context, free *int) error {
	const op = "RedisQueue.Consume"
	keys := []string{c.k.stream, c.k.schedule, c.k.bodies}
	if err := queueMoveScript.Run(loopCtx, c.q.client, keys, 100).Err(); err != nil && loopCtx.Err() == nil {
		return redisFailed(op, "moving due retries of "+c.k.stream, err)
	}
	if *free == 0 {
		return nil
	}
	msgs, next, err := c.q.client.XAutoClaim(loopCtx, &redis.XAutoClaimArgs{
		Stream: c.k.stream, Group: redisQueueGroup, Consumer: c.q.consumer,
		MinIdle: c.q.lease, Start: c.claimFrom, Count: int64(*free),
	}).Result()
	if err != nil {
		if loopCtx.Err() != nil || redis.HasErrorPrefix(err, "NOGROUP") {
			return nil // the next read recreates the group
		}
		return redisFailed(op, "XAUTOCLAIM "+c.k.stream, err)
	}
	c.claimFrom = next
	c.dispatch(ctx, msgs, free)
	return nil
}

// How often a consumer forgets the group's consumers that left, and after
// how long without a read a consumer with nothing pending has left.
const (
	redisQueueReapEvery = 10 * time.Minute
	redisQueueReapIdle  = time.Hour
)

// reap deletes the group's consumers that hold nothing and have not read
// for idle (see queueReapScript).
func (c *redisConsumer) reap(ctx context.Context, idle time.Duration) error {
	err := queueReapScript.Run(ctx, c.q.client, []string{c.k.stream}, redisQueueGroup, idle.Milliseconds(), c.q.consumer).Err()
	if err != nil && ctx.Err() == nil {
		return redisFailed("RedisQueue.Consume", "forgetting idle consumers of "+c.k.stream, err)
	}
	return nil
}

// renew restarts the lease of every entry being handled.
func (c *redisConsumer) renew(ctx context.Context) error {
	c.mu.Lock()
	ids := make([]any, 0, len(c.inFlight))
	for id := range c.inFlight {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	if err := c.touch(ctx, 0, ids...); err != nil && ctx.Err() == nil {
		return redisFailed("RedisQueue.Consume", "renewing leases in "+c.k.stream, err)
	}
	return nil
}

// touch sets the idle time of the entries ids that are still this
// consumer's.
func (c *redisConsumer) touch(ctx context.Context, idle time.Duration, ids ...any) error {
	args := append([]any{redisQueueGroup, c.q.consumer, idle.Milliseconds()}, ids...)
	return queueTouchScript.Run(ctx, c.q.client, []string{c.k.stream}, args...).Err()
}

// take waits up to the poll interval for a free handler slot, then takes
// every free one; it returns how many it took (0 when none came free).
func (c *redisConsumer) take(ctx context.Context) int {
	t := time.NewTimer(c.q.poll)
	defer t.Stop()
	select {
	case <-c.tokens:
	case <-t.C:
		return 0
	case <-ctx.Done():
		return 0
	}
	n := 1
	for {
		select {
		case <-c.tokens:
			n++
		default:
			return n
		}
	}
}

// give returns n slots.
func (c *redisConsumer) give(n int) {
	for range n {
		c.tokens <- struct{}{}
	}
}

// dispatch starts a handler for each entry, each taking one of *free slots.
// An entry deleted meanwhile (nil fields) or already in hand is skipped.
func (c *redisConsumer) dispatch(ctx context.Context, msgs []redis.XMessage, free *int) {
	for _, m := range msgs {
		c.mu.Lock()
		busy := c.inFlight[m.ID]
		if !busy && m.Values != nil {
			c.inFlight[m.ID] = true
		}
		c.mu.Unlock()
		switch {
		case busy:
			continue
		case m.Values == nil: // XDELed before it was acknowledged
			c.write(ctx, func(ctx context.Context) error {
				return c.q.client.XAck(ctx, c.k.stream, redisQueueGroup, m.ID).Err()
			})
			continue
		}
		*free--
		c.wg.Go(func() {
			defer c.give(1)
			c.handleEntry(ctx, m)
		})
	}
}

// handleEntry runs the handler on one entry and writes its outcome.
func (c *redisConsumer) handleEntry(ctx context.Context, m redis.XMessage) {
	payload, ok := m.Values["task"].(string)
	if !ok {
		payload = describeFields(m.Values)
	}
	t := decodeQueuedTask(c.sink, []byte(payload))
	out := c.handle(ctx, &t)
	c.mu.Lock()
	delete(c.inFlight, m.ID)
	c.mu.Unlock()
	switch out {
	case OutcomeRetry:
		t.NotBefore = time.Now().Add(t.Wait).UTC()
		data, err := json.Marshal(&t)
		if err != nil {
			c.fail(Errorf(CodeInternal, "RedisQueue.Consume", "encode task: %v", err))
			return
		}
		wait := (t.Wait + time.Millisecond - 1) / time.Millisecond
		c.write(ctx, func(ctx context.Context) error {
			return queueRetryScript.Run(ctx, c.q.client, []string{c.k.stream, c.k.schedule, c.k.bodies},
				redisQueueGroup, c.q.consumer, m.ID, data, int64(wait)).Err()
		})
	case OutcomeKeep:
		// Free to claim at once, by this consumer or another.
		c.write(ctx, func(ctx context.Context) error { return c.touch(ctx, c.q.lease, m.ID) })
	default:
		c.write(ctx, func(ctx context.Context) error {
			return queueDoneScript.Run(ctx, c.q.client, []string{c.k.stream}, redisQueueGroup, m.ID).Err()
		})
	}
}

// write runs an outcome's write on a context that outlives Consume's (an
// outcome decided at shutdown is still written), bounded by
// defaultRedisPushTimeout. A failure stops the loop: the entry stays
// pending and is handed out again.
func (c *redisConsumer) write(ctx context.Context, fn func(context.Context) error) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultRedisPushTimeout)
	defer cancel()
	if err := fn(wctx); err != nil {
		c.fail(redisFailed("RedisQueue.Consume", "writing an outcome in "+c.k.stream, err))
	}
}

func (c *redisConsumer) fail(err error) {
	c.mu.Lock()
	if c.failed == nil {
		c.failed = err
	}
	c.mu.Unlock()
	c.stop(err)
}
