package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter"
	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// queueDir is the async delivery queue's directory inside the data
// directory (a sinks.FileQueue: one directory per sink); with a Redis
// queue, queueFallbackDir holds what is accepted while Redis is down.
const (
	queueDir         = "queue"
	queueFallbackDir = "queue-fallback"
)

// legacyAsyncLog is where earlier versions kept every async message in one
// log; OpenQueue moves what it still holds into the queue.
const legacyAsyncLog = "async/messages.log"

// OpenQueue opens the async delivery queue cfg describes, first moving into
// it the messages an earlier version left in its single async log:
//
//   - file: a sinks.FileQueue in the data directory;
//   - redis: a sinks.RedisQueue on the DLQ's Redis, shared by every daemon
//     there, behind a sinks.FallbackQueue that keeps accepting into a
//     FileQueue in the data directory while Redis is down.
func OpenQueue(cfg *config.Config, log *slog.Logger) (q sinks.Queue, err error) {
	if cfg.QueueBackend() == config.BackendRedis {
		q, err = openRedisQueue(cfg, log)
	} else {
		q, err = sinks.OpenFileQueue(filepath.Join(cfg.DataDir, queueDir), sinks.WithLogger(log))
	}
	if err != nil {
		return nil, fmt.Errorf("open the async queue: %w", err)
	}
	if err := migrateLegacyLog(filepath.Join(cfg.DataDir, legacyAsyncLog), q, log); err != nil {
		_ = q.Close()
		return nil, err
	}
	return q, nil
}

// openRedisQueue opens the shared queue on the DLQ's Redis, with its own
// client, behind a local fallback.
func openRedisQueue(cfg *config.Config, log *slog.Logger) (sinks.Queue, error) {
	client, err := redisClient(cfg, false)
	if err != nil {
		return nil, err
	}
	primary := &redisQueue{RedisQueue: sinks.NewRedisQueue(client, sinks.WithKeyPrefix(cfg.DLQ.Prefix),
		sinks.WithTaskLease(time.Duration(cfg.Queue.Lease))), client: client}
	local, err := sinks.OpenFileQueue(filepath.Join(cfg.DataDir, queueFallbackDir), sinks.WithLogger(log))
	if err != nil {
		_ = primary.Close()
		return nil, err
	}
	f, err := sinks.NewFallbackQueue(primary, local, sinks.WithLogger(log))
	if err != nil {
		_ = primary.Close()
		_ = local.Close()
		return nil, err
	}
	return f, nil
}

// redisQueue is a RedisQueue that closes its client.
type redisQueue struct {
	*sinks.RedisQueue
	client redis.UniversalClient
}

// Close closes the queue and its client.
func (q *redisQueue) Close() error {
	err := q.RedisQueue.Close()
	if cerr := q.client.Close(); cerr != nil && !errors.Is(cerr, redis.ErrClosed) {
		err = errors.Join(err, cerr)
	}
	return err
}

// legacyRecord is a line of the earlier async log.
type legacyRecord struct {
	relay.Delivery
	Attempts int             `json:"attempts,omitempty"`
	History  []sinks.Attempt `json:"history,omitempty"`
}

// migrateLegacyLog enqueues every message of the earlier async log at path
// with its attempts and history, consuming each line only once it is in the
// queue: a crash midway moves a message twice at worst, never loses one.
func migrateLegacyLog(path string, q sinks.Queue, log *slog.Logger) error {
	if _, err := os.Stat(filepath.Dir(path)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	l, err := dletter.New(path, dletter.WithLogger(log))
	if err != nil {
		return fmt.Errorf("open the earlier async log: %w", err)
	}
	defer l.Close()
	if n, err := l.Count(dletter.RetryLog); err != nil || n == 0 {
		return err
	}
	moved := 0
	err = l.ReplayContext(context.Background(), func(ctx context.Context, payload []byte) error {
		var rec legacyRecord
		t := &sinks.Task{Sink: "unknown", Message: sinks.Message{Body: string(payload)}, DeadLetter: true,
			LastError: "undecodable record of the earlier async log"}
		if err := json.Unmarshal(payload, &rec); err == nil && rec.Sink != "" {
			t = &sinks.Task{Sink: rec.Sink, Recipient: rec.Recipient, Message: rec.Message,
				DeliveryID: rec.DeliveryID, EnqueuedAt: rec.AcceptedAt, Attempts: rec.Attempts, History: rec.History}
			if n := len(rec.History); n > 0 {
				t.FirstFailedAt, t.LastFailedAt, t.LastError = rec.History[0].At, rec.History[n-1].At, rec.History[n-1].Error
			}
		}
		if err := q.Enqueue(ctx, t); err != nil {
			return err
		}
		moved++
		return nil
	}, dletter.ReplayOptions{Backoff: func(int, time.Time, []byte) time.Duration { return 0 }})
	if err != nil {
		return fmt.Errorf("move the earlier async log into the queue: %w", err)
	}
	log.Info("moved the earlier async log into the queue", "messages", moved)
	return nil
}
