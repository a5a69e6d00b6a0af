package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// fallbackDir is where a daemon on Redis keeps dead letters while Redis is
// down, inside the data directory.
const fallbackDir = "dlq-fallback"

// OpenStore opens the DLQ that cfg.DLQ describes. With fallback, a Redis
// DLQ is wrapped in a sinks.FallbackDLQ whose local store is a FileDLQ in
// the data directory: while Redis is down dead letters are kept on disk and
// moved to Redis, each exactly once, when it is back; the daemon starts even
// when Redis does not answer yet.
func OpenStore(cfg *config.Config, fallback bool, log *slog.Logger) (sinks.Store, error) {
	opts := []sinks.StoreOption{sinks.WithLogger(log)}
	if cfg.DLQ.MaxLen > 0 {
		opts = append(opts, sinks.WithMaxItems(int(cfg.DLQ.MaxLen)))
	}
	switch cfg.DLQ.Backend {
	case config.BackendMemory:
		return sinks.NewMemoryDLQ(opts...), nil
	case config.BackendRedis:
		password, err := cfg.RedisPassword()
		if err != nil {
			return nil, err
		}
		primary, err := OpenRedis(RedisOptions{Addrs: cfg.DLQ.Addrs, DB: cfg.DLQ.DB, Password: password,
			Prefix: cfg.DLQ.Prefix, MaxLen: cfg.DLQ.MaxLen, Ping: !fallback})
		if err != nil || !fallback {
			return primary, err
		}
		local, err := sinks.OpenFileDLQ(filepath.Join(cfg.DataDir, fallbackDir), opts...)
		if err != nil {
			_ = primary.Close()
			return nil, fmt.Errorf("open the Redis fallback DLQ in %s: %w", cfg.DataDir, err)
		}
		f, err := sinks.NewFallbackDLQ(primary, local, sinks.WithLogger(log))
		if err != nil {
			_ = primary.Close()
			_ = local.Close()
			return nil, err
		}
		return f, nil
	default:
		st, err := sinks.OpenFileDLQ(FileDLQDir(cfg.DataDir), opts...)
		if err != nil {
			return nil, fmt.Errorf("open the DLQ in %s: %w", cfg.DataDir, err)
		}
		return st, nil
	}
}

// RedisOptions say where a Redis DLQ is.
type RedisOptions struct {
	Addrs    []string // several addresses mean a Cluster
	DB       int
	Password string
	Prefix   string
	MaxLen   int64
	// Ping makes a Redis that does not answer at once an error.
	Ping bool
}

// OpenRedis connects to Redis and returns a RedisDLQ whose Close also
// closes the client.
func OpenRedis(o RedisOptions) (sinks.OnceStore, error) {
	prefix, maxLen := o.Prefix, o.MaxLen
	client, err := o.client()
	if err != nil {
		return nil, err
	}
	opts := []sinks.StoreOption{sinks.WithKeyPrefix(prefix)}
	if maxLen > 0 {
		opts = append(opts, sinks.WithMaxLen(maxLen))
	}
	d := sinks.NewRedisDLQ(client, opts...)
	return &redisStore{RedisDLQ: d, client: client}, nil
}

// client connects to Redis (and, with Ping, makes sure it answers).
func (o RedisOptions) client() (redis.UniversalClient, error) {
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: o.Addrs, DB: o.DB, Password: o.Password,
		DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second})
	if o.Ping {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := client.Ping(ctx).Err(); err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("redis %v: %w", o.Addrs, err)
		}
	}
	return client, nil
}

// redisClient connects to the Redis of cfg's DLQ block.
func redisClient(cfg *config.Config, ping bool) (redis.UniversalClient, error) {
	password, err := cfg.RedisPassword()
	if err != nil {
		return nil, err
	}
	return RedisOptions{Addrs: cfg.DLQ.Addrs, DB: cfg.DLQ.DB, Password: password, Ping: ping}.client()
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
