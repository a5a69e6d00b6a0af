package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps jobs in Redis, shared by every Manager on it: a sorted
// set <prefix>:jobs of ids by start time and, per job, a hash
// <prefix>:job:{<id>} (the hash tag keeps any key of one job in one Cluster
// slot). Every script touches a single key, so a Redis Cluster works.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisStore returns a RedisStore whose keys start with prefix.
func NewRedisStore(client redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{client: client, prefix: prefix}
}

func (s *RedisStore) indexKey() string        { return s.prefix + ":jobs" }
func (s *RedisStore) jobKey(id string) string { return s.prefix + ":job:{" + id + "}" }

// Fields of a job's hash.
const (
	fJob      = "job"      // the Job as JSON
	fSpec     = "spec"     // the Runner's spec
	fState    = "state"    // Job.State, kept apart for the scripts
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

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Create stores a new running job.
func (s *RedisStore) Create(ctx context.Context, r Record) error {
	b, err := json.Marshal(r.Job)
	if err != nil {
		return fmt.Errorf("jobs: encode job: %w", err)
	}
	key := s.jobKey(r.Job.ID)
	if err := s.client.HSet(ctx, key, fJob, b, fSpec, r.Spec, fState, r.Job.State,
		fOwner, r.Owner, fDeadline, ms(r.Deadline)).Err(); err != nil {
		return fmt.Errorf("jobs: store job: %w", err)
	}
	z := redis.Z{Score: float64(r.Job.StartedAt.UnixMilli()), Member: r.Job.ID}
	if err := s.client.ZAdd(ctx, s.indexKey(), z).Err(); err != nil {
		_ = s.client.Del(ctx, key).Err()
		return fmt.Errorf("jobs: index job: %w", err)
	}
	return nil
}

// Get returns one job.
func (s *RedisStore) Get(ctx context.Context, id string) (Record, error) {
	vals, err := s.client.HMGet(ctx, s.jobKey(id), fJob, fSpec, fState, fOwner, fDeadline, fCancel).Result()
	if err != nil {
		return Record{}, fmt.Errorf("jobs: read job %s: %w", id, err)
	}
	return decodeRecord(id, vals)
}

// decodeRecord builds a Record from the HMGET of fJob, fSpec, fState,
// fOwner, fDeadline and fCancel.
func decodeRecord(id string, vals []any) (Record, error) {
	str := func(i int) string { v, _ := vals[i].(string); return v }
	if str(0) == "" {
		return Record{}, ErrNotFound
	}
	var r Record
	if err := json.Unmarshal([]byte(str(0)), &r.Job); err != nil {
		return Record{}, fmt.Errorf("jobs: decode job %s: %w", id, err)
	}
	if spec := str(1); spec != "" {
		r.Spec = []byte(spec)
	}
	r.Job.State, r.Owner, r.Cancel = str(2), str(3), str(5) == "1"
	r.Job.Owner = r.Owner
	if d, _ := strconv.ParseInt(str(4), 10, 64); d > 0 {
		r.Deadline = time.UnixMilli(d)
	}
	return r, nil
}

// List returns every job not yet forgotten, newest first, and drops from
// the index the ids whose hash has expired.
func (s *RedisStore) List(ctx context.Context) ([]Record, error) {
	ids, err := s.client.ZRevRange(ctx, s.indexKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("jobs: list jobs: %w", err)
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, s.jobKey(id), fJob, fSpec, fState, fOwner, fDeadline, fCancel)
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("jobs: list jobs: %w", err)
		}
	}
	out := make([]Record, 0, len(ids))
	var gone []any
	for i, id := range ids {
		r, err := decodeRecord(id, cmds[i].Val())
		if errors.Is(err, ErrNotFound) {
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
			return nil, fmt.Errorf("jobs: forget jobs: %w", err)
		}
	}
	return out, nil
}

// run runs a script of this store on one job's hash and turns -1 into
// ifRefused.
func (s *RedisStore) run(ctx context.Context, sc *redis.Script, id string, ifRefused error, args ...any) (int64, error) {
	n, err := sc.Run(ctx, s.client, []string{s.jobKey(id)}, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("jobs: job %s: %w", id, err)
	}
	if n < 0 {
		return n, ifRefused
	}
	return n, nil
}

// Renew extends owner's lease and records j's progress.
func (s *RedisStore) Renew(ctx context.Context, owner string, j Job, until time.Time) (bool, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return false, fmt.Errorf("jobs: encode job: %w", err)
	}
	n, err := s.run(ctx, renewScript, j.ID, ErrLost, owner, ms(until), b)
	return n == 1, err
}

// Finish records j's final state; the job is forgotten after keep.
func (s *RedisStore) Finish(ctx context.Context, owner string, j Job, keep time.Duration) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("jobs: encode job: %w", err)
	}
	_, err = s.run(ctx, finishScript, j.ID, ErrLost, owner, j.State, b, max(keep.Milliseconds(), 1))
	return err
}

// Release ends owner's lease at once.
func (s *RedisStore) Release(ctx context.Context, owner string, j Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("jobs: encode job: %w", err)
	}
	_, err = s.run(ctx, releaseScript, j.ID, ErrLost, owner, b)
	return err
}

// Claim takes over running job id if its lease ended before now.
func (s *RedisStore) Claim(ctx context.Context, id, owner string, now, until time.Time) (Record, error) {
	if _, err := s.run(ctx, claimScript, id, ErrLost, owner, ms(now), ms(until)); err != nil {
		return Record{}, err
	}
	return s.Get(ctx, id)
}

// Cancel asks job id to stop.
func (s *RedisStore) Cancel(ctx context.Context, id string) error {
	_, err := s.run(ctx, cancelScript, id, ErrNotFound)
	return err
}
