package daemon

import (
	"errors"
	"fmt"
	"path/filepath"

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
		st, err := sinks.Store(nil), errors.New("the file DLQ backend is not available yet: use dlq.backend: memory")
		if err != nil {
			return nil, fmt.Errorf("open the DLQ in %s: %w", cfg.DataDir, err)
		}
		return st, nil
	}
}

func OpenRedis(addrs []string, db int, prefix string, maxLen int64) (sinks.Store, error) {
	return nil, errors.New("the redis DLQ backend is not available yet: use dlq.backend: memory")
}
