package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// openJobs keeps the redrives on the DLQ's Redis, with their own client,
// so that every daemon there lists, polls and cancels them, and resumes
// those of a daemon that stopped once their lease (queue.lease) ends.
func (c *Core) openJobs(cfg *config.Config) ([]relay.RedriveOption, error) {
	client, err := redisClient(cfg, false)
	if err != nil {
		return nil, err
	}
	c.jobsClient = client
	prefix := cfg.DLQ.Prefix
	if prefix == "" {
		prefix = sinks.DefaultRedisKeyPrefix
	}
	return []relay.RedriveOption{
		relay.WithSharedRedrives(client, prefix, ownerName()),
		relay.WithRedriveLease(time.Duration(cfg.Queue.Lease)),
		relay.WithRedriveRetention(time.Duration(cfg.DLQ.RedriveRetention)),
	}, nil
}

// ownerName names this daemon among those sharing a Redis: host, process
// and a random part, so that a restarted daemon is a new owner.
func ownerName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])
}
