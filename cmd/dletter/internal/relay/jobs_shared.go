package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of a jobManager on a shared jobStore.
const (
	// defaultJobLease is how long a job stays with a jobManager that stopped
	// renewing it before another one takes it over.
	defaultJobLease = 30 * time.Second
	// defaultJobRetention is how long a finished job stays listed.
	defaultJobRetention = 7 * 24 * time.Hour
)

type sharedOptions struct {
	store     jobStore
	owner     string
	lease     time.Duration
	retention time.Duration
	poll      time.Duration // how often Cancel and Wait look at another jobManager's job
	timeout   time.Duration // of each call to the store
}

func defaultShared() sharedOptions {
	return sharedOptions{lease: defaultJobLease, retention: defaultJobRetention,
		poll: 100 * time.Millisecond, timeout: 5 * time.Second}
}

// RedriveOption configures where a Relay keeps its redrives (see
// Options.Redrives).
type RedriveOption func(*jobManager)

// WithSharedRedrives keeps the redrives in Redis under prefix, shared with
// every daemon there, which lists, polls and cancels them; owner names this
// daemon there (such as host:pid:random). It renews the lease of its
// redrives every lease/3, and resumes the running redrives whose lease has
// ended: those of a daemon that stopped.
func WithSharedRedrives(client redis.UniversalClient, prefix, owner string) RedriveOption {
	return withStore(newRedisJobStore(client, prefix), owner)
}

// withStore keeps the jobs in s, shared with the other jobManagers on it,
// under the name owner.
func withStore(s jobStore, owner string) RedriveOption {
	return func(m *jobManager) { m.shared.store, m.shared.owner = s, owner }
}

// WithRedriveLease sets the lease of redrives kept with WithSharedRedrives:
// how long one stays with a daemon that stopped renewing it before another
// resumes it (default 30s).
func WithRedriveLease(d time.Duration) RedriveOption {
	return func(m *jobManager) {
		if d > 0 {
			m.shared.lease = d
			m.shared.poll = min(m.shared.poll, d/3)
		}
	}
}

// WithRedriveRetention sets how long redrives kept with WithSharedRedrives
// stay listed once finished (default 7 days).
func WithRedriveRetention(d time.Duration) RedriveOption {
	return func(m *jobManager) {
		if d > 0 {
			m.shared.retention = d
		}
	}
}

// withRunner registers how to run jobs of kind from their spec.
func withRunner(kind string, r jobRunner) RedriveOption {
	return func(m *jobManager) { m.runners[kind] = r }
}

// storeCtx is the context of one call to the store.
func (m *jobManager) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), m.shared.timeout)
}

// tend renews the lease of this jobManager's jobs and takes over the jobs of
// jobManagers that stopped, every lease/3, until Close.
func (m *jobManager) tend() {
	defer m.wg.Done()
	t := time.NewTicker(max(m.shared.lease/3, time.Millisecond))
	defer t.Stop()
	for {
		m.renew()
		m.takeOver()
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// renew extends the lease of every job running here and records its
// progress; it cancels the jobs someone asked to stop, and those whose
// lease another jobManager has taken.
func (m *jobManager) renew() {
	m.mu.Lock()
	var mine []*jobEntry
	for _, e := range m.jobs {
		mine = append(mine, e)
	}
	m.mu.Unlock()
	for _, e := range mine {
		m.mu.Lock()
		j := e.job
		m.mu.Unlock()
		if j.State != StateRunning {
			continue
		}
		ctx, cancel := m.storeCtx()
		asked, err := m.shared.store.Renew(ctx, m.shared.owner, j, time.Now().Add(m.shared.lease))
		cancel()
		switch {
		case errors.Is(err, errJobLost):
			m.mu.Lock()
			e.lost = true
			m.mu.Unlock()
			e.cancel()
		case err == nil && asked:
			m.mu.Lock()
			e.asked = true
			m.mu.Unlock()
			e.cancel()
		}
	}
}

// takeOver claims the running jobs whose lease has ended and resumes them.
func (m *jobManager) takeOver() {
	ctx, cancel := m.storeCtx()
	defer cancel()
	recs, err := m.shared.store.List(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	for _, r := range recs {
		if r.Redrive.State != StateRunning || r.Deadline.After(now) {
			continue
		}
		m.mu.Lock()
		_, here := m.jobs[r.Redrive.ID]
		closed := m.closed
		if !here && !closed {
			m.wg.Add(1)
		}
		m.mu.Unlock()
		if here || closed {
			continue
		}
		claimed, err := m.shared.store.Claim(ctx, r.Redrive.ID, m.shared.owner, now, now.Add(m.shared.lease))
		if err != nil {
			m.wg.Done()
			continue
		}
		m.resume(claimed)
	}
}

// resume runs a job taken over from another jobManager; m.wg has been added
// to.
func (m *jobManager) resume(r jobRecord) {
	e := &jobEntry{job: r.Redrive, base: r.Redrive.Progress}
	e.job.Owner, e.job.Resumed = m.shared.owner, r.Redrive.Resumed+1
	run, ok := m.runners[r.Redrive.Kind]
	var fn jobFunc
	var err error
	switch {
	case r.Cancel:
		err = context.Canceled
	case !ok || r.Spec == nil:
		err = fmt.Errorf("%w: its daemon stopped and a %q job cannot be resumed", errNoRunner, r.Redrive.Kind)
	default:
		fn, err = run(r.Spec, r.Redrive)
	}
	if err != nil {
		e.base = Progress{}
		fn = func(ctx context.Context, _ func(Progress)) (Progress, error) { return r.Redrive.Progress, err }
		if r.Cancel {
			e.asked = true
			fn = func(ctx context.Context, _ func(Progress)) (Progress, error) {
				<-ctx.Done()
				return r.Redrive.Progress, ctx.Err()
			}
			defer func() { m.mu.Lock(); e.cancel(); m.mu.Unlock() }()
		}
	}
	m.launch(e, fn)
}

// settle records in the shared store how job e ended, and forgets it here;
// it reports whether the job has finished (false when it was handed over
// or lost).
func (m *jobManager) settle(e *jobEntry, final Redrive) bool {
	m.mu.Lock()
	handoff := e.handoff && !e.asked && final.State != StateDone
	lost := e.lost
	delete(m.jobs, e.job.ID)
	m.mu.Unlock()
	if lost {
		return false
	}
	ctx, cancel := m.storeCtx()
	defer cancel()
	if handoff {
		running := final
		running.State, running.FinishedAt, running.Error = StateRunning, time.Time{}, ""
		_ = m.shared.store.Release(ctx, m.shared.owner, running)
		return false
	}
	return m.shared.store.Finish(ctx, m.shared.owner, final, m.shared.retention) == nil
}

func (m *jobManager) sharedGet(id string) (Redrive, error) {
	ctx, cancel := m.storeCtx()
	defer cancel()
	r, err := m.shared.store.Get(ctx, id)
	return r.Redrive, err
}

func (m *jobManager) sharedList() []Redrive {
	ctx, cancel := m.storeCtx()
	defer cancel()
	recs, err := m.shared.store.List(ctx)
	if err != nil {
		return nil
	}
	out := make([]Redrive, len(recs))
	for i, r := range recs {
		out[i] = r.Redrive
	}
	return out
}

// sharedCancel asks another jobManager's job to stop and waits until it has.
func (m *jobManager) sharedCancel(ctx context.Context, id string) (Redrive, error) {
	sctx, cancel := m.storeCtx()
	err := m.shared.store.Cancel(sctx, id)
	cancel()
	if err != nil {
		return Redrive{}, err
	}
	j, err := m.sharedWait(ctx, id)
	if ctx.Err() != nil && err == ctx.Err() {
		return m.sharedGet(id)
	}
	return j, err
}

// sharedWait polls another jobManager's job until it has finished.
func (m *jobManager) sharedWait(ctx context.Context, id string) (Redrive, error) {
	t := time.NewTicker(m.shared.poll)
	defer t.Stop()
	for {
		j, err := m.sharedGet(id)
		if err != nil || j.State != StateRunning {
			return j, err
		}
		select {
		case <-ctx.Done():
			return Redrive{}, ctx.Err()
		case <-t.C:
		}
	}
}
