package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/sinks"
)

// dlqDir is the FileDLQ's directory inside the data directory.
const dlqDir = "dlq"

// FileDLQDir returns where the FileDLQ of dataDir lives.
func FileDLQDir(dataDir string) string { return filepath.Join(dataDir, dlqDir) }

// OpenStore opens the DLQ that cfg.DLQ describes.
func OpenStore(cfg *config.Config) (sinks.Store, error) {
	var opts []sinks.StoreOption
	if cfg.DLQ.MaxLen > 0 {
		opts = append(opts, sinks.WithMaxItems(int(cfg.DLQ.MaxLen)))
	}
	switch cfg.DLQ.Backend {
	case config.BackendMemory:
		return sinks.NewMemoryDLQ(opts...), nil
	case config.BackendRedis:
		return OpenRedis(cfg.DLQ.Addrs, cfg.DLQ.DB, cfg.DLQ.Prefix, cfg.DLQ.MaxLen)
	default:
		st, err := openFileDLQ(FileDLQDir(cfg.DataDir), opts...)
		if err != nil {
			return nil, fmt.Errorf("open the DLQ in %s: %w", cfg.DataDir, err)
		}
		return st, nil
	}
}

// OpenRedis connects to Redis (several addresses mean a Cluster) and
// returns a RedisDLQ whose Close also closes the client.
func OpenRedis(addrs []string, db int, prefix string, maxLen int64) (sinks.Store, error) {
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, DB: db})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis %v: %w", addrs, err)
	}
	d := sinks.NewRedisDLQ(client).WithKeyPrefix(prefix)
	if maxLen > 0 {
		d = d.WithMaxLen(maxLen)
	}
	return &redisStore{RedisDLQ: d, client: client}, nil
}

type redisStore struct {
	*sinks.RedisDLQ
	client redis.UniversalClient
}

// Close closes the DLQ and its client.
func (s *redisStore) Close() error {
	err := s.RedisDLQ.Close()
	if cerr := s.client.Close(); cerr != nil && !errors.Is(cerr, redis.ErrClosed) {
		err = errors.Join(err, cerr)
	}
	return err
}
