package sinks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/queuetest"
)

func TestFileQueueConformance(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(t *testing.T) sinks.Queue {
		q, err := sinks.OpenFileQueue(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Close() })
		return q
	})
}

// redisQueues returns a queuetest.NewQueue of RedisQueues on c, each under
// a prefix of its own (so each starts empty).
func redisQueues(c redis.UniversalClient) queuetest.NewQueue {
	return func(t *testing.T) sinks.Queue {
		q := sinks.NewRedisQueue(c, sinks.WithKeyPrefix(fmt.Sprintf("qconf%d", conformancePrefix.Add(1))))
		t.Cleanup(func() { _ = q.Close() })
		return q
	}
}

// redisPeers returns two consumers of one new prefix, as two processes.
func redisPeers(c redis.UniversalClient) queuetest.NewPeers {
	return func(t *testing.T) (sinks.Queue, sinks.Queue, time.Duration) {
		const lease = 700 * time.Millisecond
		prefix := fmt.Sprintf("qpeer%d", conformancePrefix.Add(1))
		a := sinks.NewRedisQueue(c, sinks.WithKeyPrefix(prefix), sinks.WithConsumerName("a"), sinks.WithTaskLease(lease))
		b := sinks.NewRedisQueue(c, sinks.WithKeyPrefix(prefix), sinks.WithConsumerName("b"), sinks.WithTaskLease(lease))
		t.Cleanup(func() { _, _ = a.Close(), b.Close() })
		return a, b, lease
	}
}

func TestRedisQueueConformanceSingleNode(t *testing.T) {
	t.Parallel()
	c := redistest.Start(t).Client()
	queuetest.Run(t, redisQueues(c))
	queuetest.RunShared(t, redisPeers(c))
}

func TestRedisQueueConformanceCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3).Client()
	queuetest.Run(t, redisQueues(c))
	queuetest.RunShared(t, redisPeers(c))
}
