package sinks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisOnceRetention is how long EnqueueOnce remembers a key: longer than
// any outage a FallbackQueue rides out.
const redisOnceRetention = 7 * 24 * time.Hour

// queueOnceScript adds a task to the stream unless its key was seen.
//
// KEYS[1] stream, KEYS[2] the key's marker. ARGV[1] task JSON, ARGV[2]
// retention in seconds. Returns 1 when added, 0 when the key was seen.
var queueOnceScript = redis.NewScript(`
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[2])) == false then return 0 end
redis.call('XADD', KEYS[1], '*', 'task', ARGV[1])
return 1
`)

// EnqueueOnce stores t unless a task was stored under key in the last
// seven days, in one script: the marker and the entry are written
// together, so a lost reply retried, or a move repeated after a crash,
// adds nothing. Like Enqueue, it shares a pipeline with the concurrent
// writes (group commit). It implements OnceQueue for FallbackQueue.
func (q *RedisQueue) EnqueueOnce(ctx context.Context, t *Task, key string) error {
	const op = "RedisQueue.EnqueueOnce"
	data, stream, err := q.prepare(ctx, op, t)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(key))
	marker := "once:" + hex.EncodeToString(sum[:16])
	if redisOwnTag(stream) { // in the stream's slot, as every key of the sink
		marker = stream + ":" + marker
	} else {
		marker = redisCompanionKey(stream, marker)
	}
	secs := strconv.Itoa(int(redisOnceRetention / time.Second))
	var cmd *redis.Cmd
	q.batch.do(ctx, q.client, defaultRedisPushTimeout, func(p redis.Pipeliner) {
		cmd = queueOnceScript.Eval(ctx, p, []string{stream, marker}, data, secs)
	})
	if err := cmd.Err(); err != nil {
		return redisFailed(op, "adding to "+stream, err)
	}
	return nil
}

// Ping reports whether Redis answers.
func (q *RedisQueue) Ping(ctx context.Context) error {
	const op = "RedisQueue.Ping"
	if err := q.checkOpen(op); err != nil {
		return err
	}
	if err := q.client.Ping(ctx).Err(); err != nil {
		return redisFailed(op, "ping", err)
	}
	return nil
}
