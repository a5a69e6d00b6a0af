package jobs

import (
	"context"
	"errors"
	"time"
)

// ErrLost is returned by a Store when a job is no longer the caller's: its
// lease expired and another owner took it over, or it has finished.
var ErrLost = errors.New("jobs: job no longer held")

// Record is a job as a shared Store keeps it.
type Record struct {
	Job Job
	// Spec is what a Runner needs to run the job again; nil for a job that
	// can only run where it started.
	Spec []byte
	// Owner names the Manager running the job, Deadline is when its lease
	// ends: after it another Manager may take the job over.
	Owner    string
	Deadline time.Time
	// Cancel is set once someone asked the job to stop.
	Cancel bool
}

// Store keeps jobs where every Manager on it sees them (a RedisStore).
// Without one a Manager keeps its jobs in memory. Get returns ErrNotFound
// for an unknown or forgotten job; the methods taking an owner return
// ErrLost when the job is not that owner's running job.
type Store interface {
	// Create stores a new running job.
	Create(ctx context.Context, r Record) error
	// Get returns one job.
	Get(ctx context.Context, id string) (Record, error)
	// List returns every job not yet forgotten, newest first.
	List(ctx context.Context) ([]Record, error)
	// Renew extends owner's lease to until and records j's progress; it
	// reports whether a cancel was asked.
	Renew(ctx context.Context, owner string, j Job, until time.Time) (cancel bool, err error)
	// Finish records j's final state; the job is forgotten after keep.
	Finish(ctx context.Context, owner string, j Job, keep time.Duration) error
	// Release ends owner's lease at once, leaving the job running for
	// another Manager to take over.
	Release(ctx context.Context, owner string, j Job) error
	// Claim makes owner the owner of running job id, leased until until,
	// if its lease ended before now.
	Claim(ctx context.Context, id, owner string, now, until time.Time) (Record, error)
	// Cancel asks job id to stop.
	Cancel(ctx context.Context, id string) error
}
