// Package jobs runs long operator actions (redrives) in the background, with
// progress that can be polled and a cancel.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// States of a job.
const (
	Running   = "running"
	Done      = "done"
	Cancelled = "cancelled"
	Failed    = "failed"
)

// Results of a finished job's items (Job.Result).
const (
	ResultOK      = "ok"      // every item processed was delivered
	ResultPartial = "partial" // some were, some were not
	ResultFailed  = "failed"  // none was, or the job itself failed
)

// ResultOf says how the items of p went: "" when none was processed,
// ResultOK when all were delivered, ResultFailed when none was, and
// ResultPartial otherwise. Skipped and busy items count as not delivered.
func ResultOf(p Progress) string {
	bad := p.Failed + p.Skipped + p.Busy
	switch {
	case p.Delivered == 0 && bad == 0:
		return ""
	case bad == 0:
		return ResultOK
	case p.Delivered == 0:
		return ResultFailed
	}
	return ResultPartial
}

// ErrNotFound is returned for an unknown job id.
var ErrNotFound = errors.New("jobs: no such job")

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("jobs: closed")

// ErrNoRunner is returned by StartSpec for a kind without a Runner.
var ErrNoRunner = errors.New("jobs: no runner for this kind")

// Progress is what a job reports as it goes.
type Progress struct {
	// Matched is how many items the job selected (known up front or grown
	// as it goes).
	Matched int `json:"matched"`
	// Processed is how many it has handled so far.
	Processed int `json:"processed"`
	// Delivered, Failed, Skipped and Busy split Processed. Skipped items
	// could not be replayed (discarded meanwhile, sink gone) and stay
	// unchanged; so do Busy ones, which someone else was replaying,
	// redriving or discarding (another daemon on the same Redis, too).
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	Busy      int `json:"busy"`
}

// Job is a snapshot of one background job.
type Job struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Actor       string   `json:"actor"`
	State       string   `json:"state"`
	Progress    Progress `json:"progress"`
	// Result says how the items went once the job has finished (see
	// ResultOf); a job that failed is ResultFailed whatever its items did.
	Result     string    `json:"result,omitempty"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Owner names the daemon running the job (with a shared Store).
	Owner string `json:"owner,omitempty"`
	// Resumed counts the times another daemon took the job over after its
	// owner stopped; the progress adds up every run.
	Resumed int `json:"resumed,omitempty"`
}

// Func is the work of a job. It calls report with its progress as it goes,
// stops promptly when ctx is cancelled, and returns its final progress.
type Func func(ctx context.Context, report func(Progress)) (Progress, error)

// Runner rebuilds the work of a job of one kind from the spec it was
// started with, so that another daemon can resume it; before is the job as
// its last owner left it (with the progress of the earlier runs).
type Runner func(spec []byte, before Job) (Func, error)

// Manager owns the running jobs and remembers finished ones: in memory (up
// to a bound) or, with WithStore, in a Store shared with other Managers.
type Manager struct {
	mu       sync.Mutex
	jobs     map[string]*entry
	order    []string // ids, oldest first
	keep     int
	wg       sync.WaitGroup
	closed   bool
	now      func() time.Time
	onFinish func(Job)
	shared   sharedOptions
	runners  map[string]Runner
	stop     chan struct{}
}

type entry struct {
	job    Job
	cancel context.CancelFunc
	done   chan struct{}
	base   Progress // of the runs before a resume
	// asked is set when someone cancelled the job, handoff when Close
	// stopped it to let another Manager resume it, lost when its lease
	// went to another Manager.
	asked, handoff, lost bool
}

// NewManager returns a Manager that remembers up to keep finished jobs.
// onFinish, when not nil, is called once with the final snapshot of each job.
func NewManager(keep int, onFinish func(Job), opts ...Option) *Manager {
	if keep <= 0 {
		keep = 100
	}
	m := &Manager{jobs: make(map[string]*entry), keep: keep, now: time.Now, onFinish: onFinish,
		runners: make(map[string]Runner), stop: make(chan struct{})}
	m.shared = defaultShared()
	for _, o := range opts {
		o(m)
	}
	if m.shared.store != nil {
		m.wg.Add(1)
		go m.tend()
	}
	return m
}

// Start runs fn in the background and returns the job's first snapshot.
// With a shared Store the job is seen by every Manager on it, but only
// this one can run it: use StartSpec for a job others can resume.
func (m *Manager) Start(kind, description, actor string, fn Func) (Job, error) {
	return m.start(kind, description, actor, nil, fn)
}

// StartSpec runs fn in the background like Start; with a shared Store,
// when this Manager stops, another one resumes the job with the Runner
// registered for kind, from spec.
func (m *Manager) StartSpec(kind, description, actor string, spec []byte, fn Func) (Job, error) {
	if _, ok := m.runners[kind]; !ok {
		return Job{}, fmt.Errorf("%w: %q", ErrNoRunner, kind)
	}
	return m.start(kind, description, actor, spec, fn)
}

func (m *Manager) start(kind, description, actor string, spec []byte, fn Func) (Job, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Job{}, ErrClosed
	}
	m.wg.Add(1)
	m.mu.Unlock()
	j := Job{ID: newID(), Kind: kind, Description: description, Actor: actor,
		State: Running, StartedAt: m.now().UTC(), Owner: m.shared.owner}
	if st := m.shared.store; st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.shared.timeout)
		err := st.Create(ctx, Record{Job: j, Spec: spec, Owner: m.shared.owner, Deadline: m.now().Add(m.shared.lease)})
		cancel()
		if err != nil {
			m.wg.Done()
			return Job{}, err
		}
	}
	m.launch(&entry{job: j}, fn)
	return j, nil
}

// launch runs e with fn in the background; m.wg has been added to.
func (m *Manager) launch(e *entry, fn Func) {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	m.mu.Lock()
	m.jobs[e.job.ID] = e
	m.order = append(m.order, e.job.ID)
	if m.shared.store == nil {
		m.forgetOld()
	}
	m.mu.Unlock()
	go m.run(ctx, e, fn)
}

func (m *Manager) run(ctx context.Context, e *entry, fn Func) {
	defer m.wg.Done()
	defer close(e.done)
	defer e.cancel()
	p, err := fn(ctx, func(p Progress) {
		m.mu.Lock()
		e.job.Progress = e.base.add(p)
		m.mu.Unlock()
	})
	m.mu.Lock()
	e.job.Progress = e.base.add(p)
	e.job.FinishedAt = m.now().UTC()
	switch {
	case err == nil:
		e.job.State = Done
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		e.job.State = Cancelled
	default:
		e.job.State = Failed
		e.job.Error = err.Error()
	}
	e.job.Result = ResultOf(e.job.Progress)
	if e.job.State == Failed {
		e.job.Result = ResultFailed
	}
	final := e.job
	m.mu.Unlock()
	if m.shared.store != nil && !m.settle(e, final) {
		return
	}
	if m.onFinish != nil {
		m.onFinish(final)
	}
}

// add returns the progress of a run that follows the runs of p.
func (p Progress) add(q Progress) Progress {
	if p == (Progress{}) {
		return q
	}
	return Progress{Matched: p.Processed + q.Matched, Processed: p.Processed + q.Processed,
		Delivered: p.Delivered + q.Delivered, Failed: p.Failed + q.Failed,
		Skipped: p.Skipped + q.Skipped, Busy: p.Busy + q.Busy}
}

// forgetOld drops the oldest finished jobs beyond the bound. m.mu is held.
func (m *Manager) forgetOld() {
	finished := 0
	for _, id := range m.order {
		if m.jobs[id].job.State != Running {
			finished++
		}
	}
	kept := m.order[:0]
	for _, id := range m.order {
		if finished > m.keep && m.jobs[id].job.State != Running {
			delete(m.jobs, id)
			finished--
			continue
		}
		kept = append(kept, id)
	}
	m.order = kept
}

// Get returns the snapshot of job id.
func (m *Manager) Get(id string) (Job, error) {
	if m.shared.store != nil {
		return m.sharedGet(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.jobs[id]
	if !ok {
		return Job{}, ErrNotFound
	}
	return e.job, nil
}

// List returns every remembered job, newest first.
func (m *Manager) List() []Job {
	if m.shared.store != nil {
		return m.sharedList()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Job, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.jobs[id].job)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	return out
}

// Cancel asks job id to stop and waits until it has (or ctx ends); it
// returns the final snapshot. Cancelling a finished job is not an error.
func (m *Manager) Cancel(ctx context.Context, id string) (Job, error) {
	m.mu.Lock()
	e, ok := m.jobs[id]
	if ok {
		e.asked = true
	}
	m.mu.Unlock()
	if !ok && m.shared.store != nil {
		return m.sharedCancel(ctx, id)
	}
	if !ok {
		return Job{}, ErrNotFound
	}
	e.cancel()
	select {
	case <-e.done:
	case <-ctx.Done():
	}
	return m.Get(id)
}

// Wait blocks until job id has finished or ctx ends.
func (m *Manager) Wait(ctx context.Context, id string) (Job, error) {
	m.mu.Lock()
	e, ok := m.jobs[id]
	m.mu.Unlock()
	if !ok && m.shared.store != nil {
		return m.sharedWait(ctx, id)
	}
	if !ok {
		return Job{}, ErrNotFound
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return Job{}, ctx.Err()
	}
	return m.Get(id)
}

// Close cancels every running job and waits for them. It is idempotent.
// With a shared Store the jobs are not finished but handed over: their
// lease ends at once and another Manager resumes them.
func (m *Manager) Close() {
	m.mu.Lock()
	if !m.closed && m.shared.store != nil {
		close(m.stop)
	}
	m.closed = true
	for _, e := range m.jobs {
		e.handoff = true
		e.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "rd_" + hex.EncodeToString(b[:])
}
