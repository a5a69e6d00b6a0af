package sinks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// defaultTaskLease is how long a task handed to a consumer stays its own
// without a sign of life before another consumer may take it (see
// WithTaskLease).
const defaultTaskLease = 30 * time.Second

// redisQueueGroup is the consumer group every RedisQueue reads with.
const redisQueueGroup = "dletter"

// redisQueuePoll is how long a read blocks (which bounds how late Consume
// notices that its ctx ended) and how often a consumer moves due retries
// and claims abandoned tasks.
const redisQueuePoll = 200 * time.Millisecond

// RedisQueue is a Queue on Redis Streams that several processes share:
// every daemon configured with the same Redis and key prefix consumes the
// same tasks, each task going to one of them at a time.
//
// Each sink has a stream, "<prefix>:q:{<sink>}", read through a consumer
// group; every process is a consumer, named "<host>:<pid>" unless
// WithConsumerName says otherwise. Enqueue is one XADD (concurrent ones
// share a pipeline). Consume reads new
// entries with XREADGROUP and runs up to n handlers at once; an entry
// leaves the stream (XACK, then XDEL, in one script) only once its handler
// returned OutcomeDone. OutcomeRetry stores the task as the handler changed
// it in the sink's schedule, due t.Wait later by the server's clock, and
// removes the entry, in one atomic script; every consumer moves due
// retries back into the stream (about every 200ms, and whenever it is
// idle). OutcomeKeep leaves the entry pending and makes it free to claim at
// once.
//
// A consumer renews the lease of the tasks it is handling (every third of
// WithTaskLease, default 30s); a task whose lease ran out, such as one held
// by a process that was killed, is claimed (XAUTOCLAIM) and handled by any
// consumer, at least once overall. A consumer that
// starts first hands out again the tasks still pending under its own name
// (a restart with a fixed name). A process paused for longer than the
// lease (a stopped VM) may find its task handled by another meanwhile;
// its own outcome is then dropped unless it was OutcomeDone. Consumers that
// hold nothing and have not read for an hour (processes that exited) are
// deleted from the group by the others, every ten minutes.
//
// Order: one consumer reads a sink's entries in the order they were added,
// but with several handlers in flight, or several consumers, deliveries
// overlap and may finish in any order; a retry goes to the end of the
// stream when it becomes due, behind the messages that came meanwhile.
//
// Durability: Enqueue returns once Redis acknowledged the XADD, and every
// outcome is one acknowledged write; a task survives a crash of the server
// as far as its persistence does. Run Redis with "appendonly yes" and
// "appendfsync always" when an acknowledged Enqueue must survive a crash
// of redis-server; with "appendfsync everysec" (the default) the last
// second or two of writes may be lost, and a failover to a replica may
// lose what was not yet replicated. A lost outcome write hands the task
// out again (at least once); a lost Enqueue loses the message.
//
// The keys, for prefix P and sink S: the stream "P:q:{S}" (entries with
// the task's JSON in the field "task"), the schedule "P:q:{S}:schedule"
// (sorted set: old entry id scored by due time in milliseconds), its
// bodies "P:q:{S}:bodies" (hash: old entry id -> task JSON), the shared
// rate limit "P:q:{S}:rate", and the set of sinks "P:q-sinks". A sink's
// keys share a Redis Cluster slot (when the braces around S do not make a
// hash tag, as for a sink named "}x", the companions take one of the
// stream's slot; see redisCompanionKey). It needs Redis 6.2 or later
// (XAUTOCLAIM). Each Consume holds a connection of the client's pool while
// its read blocks (up to 200ms at a time): give the client a PoolSize above
// the number of sinks consumed at once plus the writes expected in
// parallel. The client belongs to the caller.
type RedisQueue struct {
	client   redis.UniversalClient
	prefix   string
	consumer string
	lease    time.Duration
	poll     time.Duration

	known  redisSinkSet
	batch  redisBatch
	mu     sync.Mutex
	active map[string]bool // sinks being consumed
	closed atomic.Bool
}

var _ Queue = (*RedisQueue)(nil)

// NewRedisQueue returns a RedisQueue on client. The options that apply are
// WithKeyPrefix (default DefaultRedisKeyPrefix, the RedisDLQ's: a daemon
// gives both the same client and prefix), WithConsumerName (default
// "<host>:<pid>") and WithTaskLease (default 30s).
func NewRedisQueue(client redis.UniversalClient, opts ...StoreOption) *RedisQueue {
	o := buildStoreOptions(storeOptions{}, 0, opts)
	if o.consumerName == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		o.consumerName = host + ":" + strconv.Itoa(os.Getpid())
	}
	if o.taskLease <= 0 {
		o.taskLease = defaultTaskLease
	}
	return &RedisQueue{
		client:   client,
		prefix:   o.redisPrefix(),
		consumer: o.consumerName,
		lease:    o.taskLease,
		poll:     redisQueuePoll,
		active:   make(map[string]bool),
	}
}

// ConsumerName returns the name this process consumes under.
func (q *RedisQueue) ConsumerName() string { return q.consumer }

// redisQueueKeys names the keys of one sink.
type redisQueueKeys struct {
	stream, schedule, bodies, rate string
}

func (q *RedisQueue) keys(sink string) redisQueueKeys {
	stream := q.prefix + ":q:{" + sink + "}"
	companion := func(kind string) string {
		if redisOwnTag(stream) {
			return stream + ":" + kind
		}
		return redisCompanionKey(stream, kind)
	}
	return redisQueueKeys{
		stream:   stream,
		schedule: companion("schedule"),
		bodies:   companion("bodies"),
		rate:     companion("rate"),
	}
}

// redisOwnTag tells whether key (which ends with "}") holds a non-empty
// hash tag, so that key + anything hashes like key.
func redisOwnTag(key string) bool {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(key[i+1:], '}')
	return j > 0
}

func (q *RedisQueue) sinksKey() string { return q.prefix + ":q-sinks" }

func (q *RedisQueue) checkOpen(op string) error {
	if q.closed.Load() {
		return &Error{Code: CodeClosed, Op: op, Msg: "RedisQueue is closed"}
	}
	if q.client == nil {
		return Errorf(CodeInvalidConfig, op, "RedisQueue has no client (NewRedisQueue(nil))")
	}
	return nil
}

// prepare checks and encodes t for op and registers its sink; it returns
// the task's JSON and its sink's stream.
func (q *RedisQueue) prepare(ctx context.Context, op string, t *Task) ([]byte, string, error) {
	if err := q.checkOpen(op); err != nil {
		return nil, "", err
	}
	if err := checkSinkName(op, t.Sink); err != nil {
		return nil, "", err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return nil, "", Errorf(CodeInvalidArgument, op, "encode task: %v", err)
	}
	if err := q.known.add(ctx, q.client, op, q.sinksKey(), t.Sink); err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", context.Cause(ctx)
	}
	return data, q.keys(t.Sink).stream, nil
}

// Enqueue adds t to the end of its sink's stream: one XADD (and, before a
// sink's first task in this process, a SADD to the set of sinks), sent in
// a pipeline shared with the concurrent enqueues (group commit, as
// RedisDLQ's pushes). Once the XADD is queued, the caller's cancellation
// no longer stops it; defaultRedisPushTimeout bounds it.
func (q *RedisQueue) Enqueue(ctx context.Context, t *Task) error {
	const op = "RedisQueue.Enqueue"
	data, stream, err := q.prepare(ctx, op, t)
	if err != nil {
		return err
	}
	var cmd *redis.StringCmd
	q.batch.do(ctx, q.client, defaultRedisPushTimeout, func(p redis.Pipeliner) {
		cmd = p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"task", data}})
	})
	if err := cmd.Err(); err != nil {
		return redisFailed(op, "adding to "+stream, err)
	}
	return nil
}

// Sinks names every sink a task was ever enqueued for, sorted.
func (q *RedisQueue) Sinks() ([]string, error) {
	const op = "RedisQueue.Sinks"
	if err := q.checkOpen(op); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), defaultRedisPushTimeout)
	defer cancel()
	names, err := q.client.SMembers(ctx, q.sinksKey()).Result()
	if err != nil {
		return nil, redisFailed(op, "SMEMBERS "+q.sinksKey(), err)
	}
	slices.Sort(names)
	return names, nil
}

// Pending returns, in one atomic step, the entries of the sink's stream
// (tasks not yet handed out, and tasks handed out whose handler has not
// finished, by any consumer) plus its scheduled retries.
func (q *RedisQueue) Pending(sink string) (int64, error) {
	const op = "RedisQueue.Pending"
	if err := q.checkOpen(op); err != nil {
		return 0, err
	}
	if err := checkSinkName(op, sink); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), defaultRedisPushTimeout)
	defer cancel()
	k := q.keys(sink)
	n, err := queuePendingScript.Run(ctx, q.client, []string{k.stream, k.schedule}).Int64()
	if err != nil {
		return 0, redisFailed(op, "counting "+k.stream, err)
	}
	return n, nil
}

// Close marks the queue closed: later calls return an error matching
// ErrClosed. Consume calls must have returned. It does not close the
// client. Close is idempotent.
func (q *RedisQueue) Close() error {
	q.closed.Store(true)
	return nil
}

// Consume hands the sink's tasks to handle, up to n at once, until ctx
// ends (see RedisQueue). One RedisQueue consumes a sink once at a time: a
// second Consume of the same sink while one runs is an error matching
// ErrInvalidArgument. It returns ctx's cause, or the error that stopped it
// (the server failing), after waiting for the handlers under way.
func (q *RedisQueue) Consume(ctx context.Context, sink string, n int, handle TaskHandler) error {
	const op = "RedisQueue.Consume"
	if err := q.checkOpen(op); err != nil {
		return err
	}
	if err := checkSinkName(op, sink); err != nil {
		return err
	}
	q.mu.Lock()
	if q.active[sink] {
		q.mu.Unlock()
		return Errorf(CodeInvalidArgument, op, "sink %q is consumed already by this queue", sink)
	}
	q.active[sink] = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		delete(q.active, sink)
		q.mu.Unlock()
	}()
	c := &redisConsumer{q: q, sink: sink, k: q.keys(sink), handle: handle,
		tokens: make(chan struct{}, max(n, 1)), inFlight: make(map[string]bool), claimFrom: "0-0"}
	for range cap(c.tokens) {
		c.tokens <- struct{}{}
	}
	return c.run(ctx)
}

// describeFields shows the fields of a stream entry that holds no task.
func describeFields(values map[string]any) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%v", k, values[k])
	}
	return b.String()
}
