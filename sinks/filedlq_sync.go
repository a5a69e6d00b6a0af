package sinks

import "sync"

// syncGroup lets concurrent FileDLQ writers share fdatasyncs (group
// commit): a writer that needs its write synced waits for a sync that
// started after the write; while one sync runs, the writers that arrive
// meanwhile wait for the next one, which covers them all.
type syncGroup struct {
	mu      sync.Mutex
	cond    sync.Cond
	written uint64 // writes made so far (a writer's ticket)
	synced  uint64 // writes covered by a finished sync
	syncing bool
	err     error // the last sync's error, for the writers it covered
}

// wrote records a write and returns its ticket. Call it after the write,
// before anything else can be written.
func (g *syncGroup) wrote() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.written++
	return g.written
}

// wait returns once a sync covering ticket has finished, running the sync
// itself when no other writer is.
func (g *syncGroup) wait(ticket uint64, sync func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cond.L == nil {
		g.cond.L = &g.mu
	}
	for g.synced < ticket {
		if g.syncing {
			g.cond.Wait()
			continue
		}
		target := g.written
		g.syncing = true
		g.mu.Unlock()
		err := sync()
		g.mu.Lock()
		g.syncing = false
		g.err = err
		if err == nil {
			g.synced = max(g.synced, target)
		}
		g.cond.Broadcast()
		if err != nil && g.synced < ticket {
			return err
		}
	}
	return nil
}

// coverAll records that every write so far is synced (by a final sync at
// Close), releasing the writers that wait.
func (g *syncGroup) coverAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.synced = g.written
	if g.cond.L != nil {
		g.cond.Broadcast()
	}
}
