package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Defaults of a Manager on a shared Store.
const (
	// DefaultLease is how long a job stays with a Manager that stopped
	// renewing it before another one takes it over.
	DefaultLease = 30 * time.Second
	// DefaultRetention is how long a finished job stays listed.
	DefaultRetention = 7 * 24 * time.Hour
)

type sharedOptions struct {
	store     Store
	owner     string
	lease     time.Duration
	retention time.Duration
	poll      time.Duration // how often Cancel and Wait look at another Manager's job
	timeout   time.Duration // of each call to the store
}

func defaultShared() sharedOptions {
	return sharedOptions{lease: DefaultLease, retention: DefaultRetention,
		poll: 100 * time.Millisecond, timeout: 5 * time.Second}
}

// Option configures a Manager.
type Option func(*Manager)

// WithStore keeps the jobs in s, shared with the other Managers on it;
// owner names this Manager there (such as host:pid). The Manager renews
// the lease of its jobs every lease/3, and takes over, with the Runner of
// their kind, the running jobs whose lease has ended.
func WithStore(s Store, owner string) Option {
	return func(m *Manager) { m.shared.store, m.shared.owner = s, owner }
}

// WithLease sets the lease of jobs on a shared Store (DefaultLease).
func WithLease(d time.Duration) Option {
	return func(m *Manager) {
		if d > 0 {
			m.shared.lease = d
			m.shared.poll = min(m.shared.poll, d/3)
		}
	}
}

// WithRetention sets how long a shared Store keeps finished jobs
// (DefaultRetention).
func WithRetention(d time.Duration) Option {
	return func(m *Manager) {
		if d > 0 {
			m.shared.retention = d
		}
	}
}

// WithRunner registers how to run jobs of kind from their spec.
func WithRunner(kind string, r Runner) Option {
	return func(m *Manager) { m.runners[kind] = r }
}

// WithClock sets the clock of leases and timestamps (time.Now).
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// storeCtx is the context of one call to the store.
func (m *Manager) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), m.shared.timeout)
}

// tend renews the lease of this Manager's jobs and takes over the jobs of
// Managers that stopped, every lease/3, until Close.
func (m *Manager) tend() {
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
// lease another Manager has taken.
func (m *Manager) renew() {
	m.mu.Lock()
	var mine []*entry
	for _, e := range m.jobs {
		mine = append(mine, e)
	}
	m.mu.Unlock()
	for _, e := range mine {
		m.mu.Lock()
		j := e.job
		m.mu.Unlock()
		if j.State != Running {
			continue
		}
		ctx, cancel := m.storeCtx()
		asked, err := m.shared.store.Renew(ctx, m.shared.owner, j, m.now().Add(m.shared.lease))
		cancel()
		switch {
		case errors.Is(err, ErrLost):
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
func (m *Manager) takeOver() {
	ctx, cancel := m.storeCtx()
	defer cancel()
	recs, err := m.shared.store.List(ctx)
	if err != nil {
		return
	}
	now := m.now()
	for _, r := range recs {
		if r.Job.State != Running || r.Deadline.After(now) {
			continue
		}
		m.mu.Lock()
		_, here := m.jobs[r.Job.ID]
		closed := m.closed
		if !here && !closed {
			m.wg.Add(1)
		}
		m.mu.Unlock()
		if here || closed {
			continue
		}
		claimed, err := m.shared.store.Claim(ctx, r.Job.ID, m.shared.owner, now, now.Add(m.shared.lease))
		if err != nil {
			m.wg.Done()
			continue
		}
		m.resume(claimed)
	}
}

// resume runs a job taken over from another Manager; m.wg has been added
// to.
func (m *Manager) resume(r Record) {
	e := &entry{job: r.Job, base: r.Job.Progress}
	e.job.Owner, e.job.Resumed = m.shared.owner, r.Job.Resumed+1
	run, ok := m.runners[r.Job.Kind]
	var fn Func
	var err error
	switch {
	case r.Cancel:
		err = context.Canceled
	case !ok || r.Spec == nil:
		err = fmt.Errorf("%w: its daemon stopped and a %q job cannot be resumed", ErrNoRunner, r.Job.Kind)
	default:
		fn, err = run(r.Spec, r.Job)
	}
	if err != nil {
		e.base = Progress{}
		fn = func(ctx context.Context, _ func(Progress)) (Progress, error) { return r.Job.Progress, err }
		if r.Cancel {
			e.asked = true
			fn = func(ctx context.Context, _ func(Progress)) (Progress, error) {
				<-ctx.Done()
				return r.Job.Progress, ctx.Err()
			}
			defer func() { m.mu.Lock(); e.cancel(); m.mu.Unlock() }()
		}
	}
	m.launch(e, fn)
}

// settle records in the shared store how job e ended, and forgets it here;
// it reports whether the job has finished (false when it was handed over
// or lost).
func (m *Manager) settle(e *entry, final Job) bool {
	m.mu.Lock()
	handoff := e.handoff && !e.asked && final.State != Done
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
		running.State, running.FinishedAt, running.Error = Running, time.Time{}, ""
		_ = m.shared.store.Release(ctx, m.shared.owner, running)
		return false
	}
	return m.shared.store.Finish(ctx, m.shared.owner, final, m.shared.retention) == nil
}

func (m *Manager) sharedGet(id string) (Job, error) {
	ctx, cancel := m.storeCtx()
	defer cancel()
	r, err := m.shared.store.Get(ctx, id)
	return r.Job, err
}

func (m *Manager) sharedList() []Job {
	ctx, cancel := m.storeCtx()
	defer cancel()
	recs, err := m.shared.store.List(ctx)
	if err != nil {
		return nil
	}
	out := make([]Job, len(recs))
	for i, r := range recs {
		out[i] = r.Job
	}
	return out
}

// sharedCancel asks another Manager's job to stop and waits until it has.
func (m *Manager) sharedCancel(ctx context.Context, id string) (Job, error) {
	sctx, cancel := m.storeCtx()
	err := m.shared.store.Cancel(sctx, id)
	cancel()
	if err != nil {
		return Job{}, err
	}
	j, err := m.sharedWait(ctx, id)
	if ctx.Err() != nil && err == ctx.Err() {
		return m.sharedGet(id)
	}
	return j, err
}

// sharedWait polls another Manager's job until it has finished.
func (m *Manager) sharedWait(ctx context.Context, id string) (Job, error) {
	t := time.NewTicker(m.shared.poll)
	defer t.Stop()
	for {
		j, err := m.sharedGet(id)
		if err != nil || j.State != Running {
			return j, err
		}
		select {
		case <-ctx.Done():
			return Job{}, ctx.Err()
		case <-t.C:
		}
	}
}
