package relay

// This file runs redrives in the background, as jobs: each with progress
// that can be polled and a cancel, kept in memory or, shared with other
// daemons, in a jobStore (jobs_shared.go, jobs_redis.go).

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

// States of a redrive (Redrive.State).
const (
	StateRunning   = "running"
	StateDone      = "done"
	StateCancelled = "cancelled"
	StateFailed    = "failed"
)

// Results of a finished redrive's items (Redrive.Result).
const (
	ResultOK      = "ok"      // every item processed was delivered
	ResultPartial = "partial" // some were, some were not
	ResultFailed  = "failed"  // none was, or the job itself failed
)

// resultOf says how the items of p went: ResultOK when all were delivered
// (so when none was processed, such as a redrive that matched nothing),
// ResultFailed when none was, and ResultPartial otherwise. Skipped and busy
// items count as not delivered.
func resultOf(p Progress) string {
	bad := p.Failed + p.Skipped + p.Busy
	switch {
	case bad == 0:
		return ResultOK
	case p.Delivered == 0:
		return ResultFailed
	}
	return ResultPartial
}

// Errors of the jobManager; the Relay's methods turn an unknown id into
// one matching sinks.ErrNotFound.
var (
	// errJobNotFound is returned for an unknown job id.
	errJobNotFound = errors.New("relay: no such redrive")
	// errJobsClosed is returned by start after Close.
	errJobsClosed = errors.New("relay: closed")
	// errNoRunner is returned by StartSpec for a kind without a jobRunner.
	errNoRunner = errors.New("relay: no runner for this kind of job")
)

// Progress is how far a redrive has got, as it reports it.
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

// Redrive is a snapshot of one background redrive.
type Redrive struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Actor       string   `json:"actor"`
	State       string   `json:"state"`
	Progress    Progress `json:"progress"`
	// Result says how the items went once the job has finished (see
	// resultOf); a job that failed is ResultFailed whatever its items did.
	Result     string    `json:"result,omitempty"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Owner names the daemon running the job (with a shared jobStore).
	Owner string `json:"owner,omitempty"`
	// Resumed counts the times another daemon took the job over after its
	// owner stopped; the progress adds up every run.
	Resumed int `json:"resumed,omitempty"`
}

// jobFunc is the work of a job. It calls report with its progress as it goes,
// stops promptly when ctx is cancelled, and returns its final progress.
type jobFunc func(ctx context.Context, report func(Progress)) (Progress, error)

// jobRunner rebuilds the work of a job of one kind from the spec it was
// started with, so that another daemon can resume it; before is the job as
// its last owner left it (with the progress of the earlier runs).
type jobRunner func(spec []byte, before Redrive) (jobFunc, error)

// jobManager owns the running jobs and remembers finished ones: in memory (up
// to a bound) or, with WithSharedRedrives, in a jobStore shared with other
// jobManagers.
type jobManager struct {
	mu       sync.Mutex
	jobs     map[string]*jobEntry
	order    []string // ids, oldest first
	keep     int
	wg       sync.WaitGroup
	closed   bool
	onFinish func(Redrive)
	shared   sharedOptions
	runners  map[string]jobRunner
	stop     chan struct{}
}

type jobEntry struct {
	job    Redrive
	cancel context.CancelFunc
	done   chan struct{}
	base   Progress // of the runs before a resume
	// asked is set when someone cancelled the job, handoff when Close
	// stopped it to let another jobManager resume it, lost when its lease
	// went to another jobManager.
	asked, handoff, lost bool
}

// newJobManager returns a jobManager that remembers up to keep finished jobs.
// onFinish, when not nil, is called once with the final snapshot of each job.
func newJobManager(keep int, onFinish func(Redrive), opts ...RedriveOption) *jobManager {
	if keep <= 0 {
		keep = 100
	}
	m := &jobManager{jobs: make(map[string]*jobEntry), keep: keep, onFinish: onFinish,
		runners: make(map[string]jobRunner), stop: make(chan struct{})}
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
// With a shared jobStore the job is seen by every jobManager on it, but only
// this one can run it: use StartSpec for a job others can resume.
func (m *jobManager) Start(kind, description, actor string, fn jobFunc) (Redrive, error) {
	return m.start(newJobID(), kind, description, actor, nil, fn)
}

// StartSpec runs fn in the background like Start, as job id (from
// newJobID, so that the caller can name the job before it starts); with a
// shared jobStore, when this jobManager stops, another one resumes the job
// with the jobRunner registered for kind, from spec.
func (m *jobManager) StartSpec(id, kind, description, actor string, spec []byte, fn jobFunc) (Redrive, error) {
	if _, ok := m.runners[kind]; !ok {
		return Redrive{}, fmt.Errorf("%w: %q", errNoRunner, kind)
	}
	return m.start(id, kind, description, actor, spec, fn)
}

func (m *jobManager) start(id, kind, description, actor string, spec []byte, fn jobFunc) (Redrive, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Redrive{}, errJobsClosed
	}
	m.wg.Add(1)
	m.mu.Unlock()
	j := Redrive{ID: id, Kind: kind, Description: description, Actor: actor,
		State: StateRunning, StartedAt: time.Now().UTC(), Owner: m.shared.owner}
	if st := m.shared.store; st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.shared.timeout)
		err := st.Create(ctx, jobRecord{Redrive: j, Spec: spec, Owner: m.shared.owner, Deadline: time.Now().Add(m.shared.lease)})
		cancel()
		if err != nil {
			m.wg.Done()
			return Redrive{}, err
		}
	}
	m.launch(&jobEntry{job: j}, fn)
	return j, nil
}

// launch runs e with fn in the background; m.wg has been added to.
func (m *jobManager) launch(e *jobEntry, fn jobFunc) {
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

func (m *jobManager) run(ctx context.Context, e *jobEntry, fn jobFunc) {
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
	e.job.FinishedAt = time.Now().UTC()
	switch {
	case err == nil:
		e.job.State = StateDone
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		e.job.State = StateCancelled
	default:
		e.job.State = StateFailed
		e.job.Error = err.Error()
	}
	e.job.Result = resultOf(e.job.Progress)
	if e.job.State == StateFailed {
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
func (m *jobManager) forgetOld() {
	finished := 0
	for _, id := range m.order {
		if m.jobs[id].job.State != StateRunning {
			finished++
		}
	}
	kept := m.order[:0]
	for _, id := range m.order {
		if finished > m.keep && m.jobs[id].job.State != StateRunning {
			delete(m.jobs, id)
			finished--
			continue
		}
		kept = append(kept, id)
	}
	m.order = kept
}

// Get returns the snapshot of job id.
func (m *jobManager) Get(id string) (Redrive, error) {
	if m.shared.store != nil {
		return m.sharedGet(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.jobs[id]
	if !ok {
		return Redrive{}, errJobNotFound
	}
	return e.job, nil
}

// List returns every remembered job, newest first.
func (m *jobManager) List() []Redrive {
	if m.shared.store != nil {
		return m.sharedList()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Redrive, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.jobs[id].job)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	return out
}

// Cancel asks job id to stop and waits until it has (or ctx ends); it
// returns the final snapshot. Cancelling a finished job is not an error.
func (m *jobManager) Cancel(ctx context.Context, id string) (Redrive, error) {
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
		return Redrive{}, errJobNotFound
	}
	e.cancel()
	select {
	case <-e.done:
	case <-ctx.Done():
	}
	return m.Get(id)
}

// Wait blocks until job id has finished or ctx ends.
func (m *jobManager) Wait(ctx context.Context, id string) (Redrive, error) {
	m.mu.Lock()
	e, ok := m.jobs[id]
	m.mu.Unlock()
	if !ok && m.shared.store != nil {
		return m.sharedWait(ctx, id)
	}
	if !ok {
		return Redrive{}, errJobNotFound
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return Redrive{}, ctx.Err()
	}
	return m.Get(id)
}

// Close cancels every running job and waits for them. It is idempotent.
// With a shared jobStore the jobs are not finished but handed over: their
// lease ends at once and another jobManager resumes them.
func (m *jobManager) Close() {
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

func newJobID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "rd_" + hex.EncodeToString(b[:])
}
