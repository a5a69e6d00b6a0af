package relay

import (
	"context"
	"errors"
	"time"
)

// errJobLost is returned by a jobStore when a job is no longer the caller's: its
// lease expired and another owner took it over, or it has finished.
var errJobLost = errors.New("relay: job no longer held")

// jobRecord is a job as a shared jobStore keeps it.
type jobRecord struct {
	Redrive Redrive
	// Spec is what a jobRunner needs to run the job again; nil for a job that
	// can only run where it started.
	Spec []byte
	// Owner names the jobManager running the job, Deadline is when its lease
	// ends: after it another jobManager may take the job over.
	Owner    string
	Deadline time.Time
	// Cancel is set once someone asked the job to stop.
	Cancel bool
}

// jobStore keeps jobs where every jobManager on it sees them (a redisJobStore).
// Without one a jobManager keeps its jobs in memory. Get returns errJobNotFound
// for an unknown or forgotten job; the methods taking an owner return
// errJobLost when the job is not that owner's running job.
type jobStore interface {
	// Create stores a new running job.
	Create(ctx context.Context, r jobRecord) error
	// Get returns one job.
	Get(ctx context.Context, id string) (jobRecord, error)
	// List returns every job not yet forgotten, newest first.
	List(ctx context.Context) ([]jobRecord, error)
	// Renew extends owner's lease to until and records j's progress; it
	// reports whether a cancel was asked.
	Renew(ctx context.Context, owner string, j Redrive, until time.Time) (cancel bool, err error)
	// Finish records j's final state; the job is forgotten after keep.
	Finish(ctx context.Context, owner string, j Redrive, keep time.Duration) error
	// Release ends owner's lease at once, leaving the job running for
	// another jobManager to take over.
	Release(ctx context.Context, owner string, j Redrive) error
	// Claim makes owner the owner of running job id, leased until until,
	// if its lease ended before now.
	Claim(ctx context.Context, id, owner string, now, until time.Time) (jobRecord, error)
	// Cancel asks job id to stop.
	Cancel(ctx context.Context, id string) error
}
