package sinks_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/dlqtest"
)

var conformancePrefix atomic.Int64

// redisStores returns a dlqtest.NewStore of RedisDLQs on c, each under a
// prefix of its own (so each starts empty), uncapped as the suite asks.
func redisStores(c redis.UniversalClient) dlqtest.NewStore {
	return func(t *testing.T) sinks.Store {
		d := sinks.NewRedisDLQ(c, sinks.WithKeyPrefix(fmt.Sprintf("conf%d", conformancePrefix.Add(1))), sinks.WithMaxLen(0))
		t.Cleanup(func() { _ = d.Close() })
		return d
	}
}

func TestRedisDLQConformanceSingleNode(t *testing.T) {
	t.Parallel()
	dlqtest.Run(t, redisStores(redistest.Start(t).Client()))
}

func TestRedisDLQConformanceCluster(t *testing.T) {
	t.Parallel()
	dlqtest.Run(t, redisStores(redistest.StartCluster(t, 3).Client()))
}
