package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisJobStore keeps jobs in Redis, shared by every jobManager on it: a sorted
// set <prefix>:jobs of ids by start time and, per job, a hash
// <prefix>:job:{<id>} (the hash tag keeps any key of one job in one Cluster
// slot). Every script touches a single key, so a Redis Cluster works.
type redisJobStore struct {
	client redis.UniversalClient
	prefix string
}

// newRedisJobStore returns a redisJobStore whose keys start with prefix.
func newRedisJobStore(client redis.UniversalClient, prefix string) *redisJobStore {
	return &redisJobStore{client: client, prefix: prefix}
}

func (s *redisJobStore) indexKey() string        { return s.prefix + ":jobs" }
func (s *redisJobStore) jobKey(id string) string { return s.prefix + ":job:{" + id + "}" }

// Fields of a job's hash.
const (
	fJob      = "job"      // the Redrive as JSON
	fSpec     = "spec"     // the jobRunner's spec
	fState    = "state"    // Redrive.State, kept apart for the scripts
	fOwner    = "owner"    // who runs it
	fDeadline = "deadline" // end of the owner's lease, Unix milliseconds
	fCancel   = "cancel"   // "1" once a cancel was asked
)

// renewScript: KEYS[1] job hash; ARGV owner, deadline ms, job JSON.
// Returns -1 when the job is not owner's running job, else 1 when a cancel
// was asked and 0 when not.
var renewScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then
  return -1
end
redis.call('HSET', KEYS[1], 'deadline', ARGV[2], 'job', ARGV[3])
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return 1 end
return 0`)

// finishScript: KEYS[1] job hash; ARGV owner, state, job JSON, keep ms.
// Returns -1 when the job is not owner's running job.
var finishScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then
  return -1
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'job', ARGV[3], 'deadline', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0`)

// releaseScript: KEYS[1] job hash; ARGV owner, job JSON. Returns -1 when
// the job is not owner's running job.
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then
  return -1
end
redis.call('HSET', KEYS[1], 'deadline', '0', 'job', ARGV[2])
return 0`)

// claimScript: KEYS[1] job hash; ARGV owner, now ms, deadline ms. Takes a
// running job whose lease ended before now; returns -1 when it cannot.
var claimScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return -1 end
local d = tonumber(redis.call('HGET', KEYS[1], 'deadline') or '0')
if d >= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'deadline', ARGV[3])
return 0`)

// cancelScript: KEYS[1] job hash. Returns -1 for an unknown job.
var cancelScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'cancel', '1')
return 0`)

func unixMS(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Create stores a new running job.
func (s *redisJobStore) Create(ctx context.Context, r jobRecord) error {
	b, err := json.Marshal(r.Redrive)
	if err != nil {
		return fmt.Errorf("relay: encode job: %w", err)
	}
	key := s.jobKey(r.Redrive.ID)
	if err := s.client.HSet(ctx, key, fJob, b, fSpec, r.Spec, fState, r.Redrive.State,
		fOwner, r.Owner, fDeadline, unixMS(r.Deadline)).Err(); err != nil {
		return fmt.Errorf("relay: store job: %w", err)
	}
	z := redis.Z{Score: float64(r.Redrive.StartedAt.UnixMilli()), Member: r.Redrive.ID}
	if err := s.client.ZAdd(ctx, s.indexKey(), z).Err(); err != nil {
		_ = s.client.Del(ctx, key).Err()
		return fmt.Errorf("relay: index job: %w", err)
	}
	return nil
}

// Get returns one job.
func (s *redisJobStore) Get(ctx context.Context, id string) (jobRecord, error) {
	vals, err := s.client.HMGet(ctx, s.jobKey(id), fJob, fSpec, fState, fOwner, fDeadline, fCancel).Result()
	if err != nil {
		return jobRecord{}, fmt.Errorf("relay: read job %s: %w", id, err)
	}
	return decodeJobRecord(id, vals)
}

// decodeJobRecord builds a jobRecord from the HMGET of fJob, fSpec, fState,
// fOwner, fDeadline and fCancel.
func decodeJobRecord(id string, vals []any) (jobRecord, error) {
	str := func(i int) string { v, _ := vals[i].(string); return v }
	if str(0) == "" {
		return jobRecord{}, errJobNotFound
	}
	var r jobRecord
	if err := json.Unmarshal([]byte(str(0)), &r.Redrive); err != nil {
		return jobRecord{}, fmt.Errorf("relay: decode job %s: %w", id, err)
	}
	if spec := str(1); spec != "" {
		r.Spec = []byte(spec)
	}
	r.Redrive.State, r.Owner, r.Cancel = str(2), str(3), str(5) == "1"
	r.Redrive.Owner = r.Owner
	if d, _ := strconv.ParseInt(str(4), 10, 64); d > 0 {
		r.Deadline = time.UnixMilli(d)
	}
	return r, nil
}

// List returns every job not yet forgotten, newest first, and drops from
// the index the ids whose hash has expired.
func (s *redisJobStore) List(ctx context.Context) ([]jobRecord, error) {
	ids, err := s.client.ZRevRange(ctx, s.indexKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("relay: list jobs: %w", err)
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, s.jobKey(id), fJob, fSpec, fState, fOwner, fDeadline, fCancel)
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("relay: list jobs: %w", err)
		}
	}
	out := make([]jobRecord, 0, len(ids))
	var gone []any
	for i, id := range ids {
		r, err := decodeJobRecord(id, cmds[i].Val())
		if errors.Is(err, errJobNotFound) {
			gone = append(gone, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(gone) > 0 {
		if err := s.client.ZRem(ctx, s.indexKey(), gone...).Err(); err != nil {
			return nil, fmt.Errorf("relay: forget jobs: %w", err)
		}
	}
	return out, nil
}

// run runs a script of this store on one job's hash and turns -1 into
// ifRefused.
func (s *redisJobStore) run(ctx context.Context, sc *redis.Script, id string, ifRefused error, args ...any) (int64, error) {
	n, err := sc.Run(ctx, s.client, []string{s.jobKey(id)}, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("relay: job %s: %w", id, err)
	}
	if n < 0 {
		return n, ifRefused
	}
	return n, nil
}

// Renew extends owner's lease and records j's progress.
func (s *redisJobStore) Renew(ctx context.Context, owner string, j Redrive, until time.Time) (bool, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return false, fmt.Errorf("relay: encode job: %w", err)
	}
	n, err := s.run(ctx, renewScript, j.ID, errJobLost, owner, unixMS(until), b)
	return n == 1, err
}

// Finish records j's final state; the job is forgotten after keep.
func (s *redisJobStore) Finish(ctx context.Context, owner string, j Redrive, keep time.Duration) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("relay: encode job: %w", err)
	}
	_, err = s.run(ctx, finishScript, j.ID, errJobLost, owner, j.State, b, max(keep.Milliseconds(), 1))
	return err
}

// Release ends owner's lease at once.
func (s *redisJobStore) Release(ctx context.Context, owner string, j Redrive) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("relay: encode job: %w", err)
	}
	_, err = s.run(ctx, releaseScript, j.ID, errJobLost, owner, b)
	return err
}

// Claim takes over running job id if its lease ended before now.
func (s *redisJobStore) Claim(ctx context.Context, id, owner string, now, until time.Time) (jobRecord, error) {
	if _, err := s.run(ctx, claimScript, id, errJobLost, owner, unixMS(now), unixMS(until)); err != nil {
		return jobRecord{}, err
	}
	return s.Get(ctx, id)
}

// Cancel asks job id to stop.
func (s *redisJobStore) Cancel(ctx context.Context, id string) error {
	_, err := s.run(ctx, cancelScript, id, errJobNotFound)
	return err
}
