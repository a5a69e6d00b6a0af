package relay

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
)

// ErrAuditUnavailable is returned when the audit log cannot be written: an
// action is then refused before it changes anything (the API answers 503),
// and a bulk action stops at the first item it could not record.
var ErrAuditUnavailable = errors.New("relay: the audit log cannot be written")

// auditBatch is how many item lines a bulk action writes at once.
const auditBatch = 500

// action is an audited action under way: its start is recorded before it
// changes anything, its items as they are done, its outcome at the end
// (see package audit).
type action struct {
	r       *Relay
	base    audit.Entry // who, what, and the op that ties the lines together
	pending []string    // items done, not yet recorded (see done)
}

// begin records the start of an action. An error (matching
// ErrAuditUnavailable) means the action must not run.
func (r *Relay) begin(a Actor, name, target string) (*action, error) {
	ac := r.newAction(a, name, target)
	start := ac.base
	start.Phase, start.Result = audit.PhaseStart, "started"
	if err := ac.write(start); err != nil {
		return nil, fmt.Errorf("%w, so nothing was changed (%s %s): %v", ErrAuditUnavailable, name, target, err)
	}
	r.open.add(ac.base.Op)
	return ac, nil
}

func (r *Relay) newAction(a Actor, name, target string) *action {
	return &action{r: r, base: audit.Entry{Actor: a.name(), Via: a.Via, Remote: a.Remote,
		Action: name, Target: target, Op: newOpID()}}
}

// refused records, as an outcome alone, an action refused before it
// began (an item that someone else holds).
func (r *Relay) refused(a Actor, name, target string, err error) {
	r.newAction(a, name, target).end(0, 0, outcome(0, 0, err))
}

// items records that the items ids were done with result, in one write.
// An error (matching ErrAuditUnavailable) means the action must stop.
func (ac *action) items(result string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	entries := make([]audit.Entry, len(ids))
	for i, id := range ids {
		e := ac.base
		e.Phase, e.Target, e.Result = audit.PhaseItem, id, result
		entries[i] = e
	}
	if err := ac.write(entries...); err != nil {
		return fmt.Errorf("%w, so %s stopped after item %s: %v", ErrAuditUnavailable, ac.base.Action, ids[len(ids)-1], err)
	}
	return nil
}

// done notes that item id of a bulk action was done, and records the items
// noted auditBatch at a time. An error (matching ErrAuditUnavailable) means
// the action must stop.
func (ac *action) done(id string) error {
	if ac.pending = append(ac.pending, id); len(ac.pending) < auditBatch {
		return nil
	}
	return ac.flush()
}

// flush records the items noted by done.
func (ac *action) flush() error {
	err := ac.items("ok", ac.pending...)
	ac.pending = ac.pending[:0]
	return err
}

// end records and logs the outcome: count items handled, failed of them
// not done, and the result in words (see outcome).
func (ac *action) end(count, failed int, result string) {
	e := ac.base
	e.Count, e.Failed, e.Result = count, failed, result
	ac.r.log.Info("audit", "actor", e.Actor, "via", e.Via, "remote", e.Remote, "action", e.Action,
		"target", e.Target, "count", count, "failed", failed, "result", result, "op", e.Op)
	_ = ac.write(e)
	ac.r.open.remove(e.Op)
}

// write appends entries to the audit log, counting and logging a failure.
func (ac *action) write(entries ...audit.Entry) error {
	err := ac.r.opts.Audit.RecordAll(entries)
	if err != nil {
		ac.r.opts.Metrics.AuditError()
		ac.r.log.Error("audit log write failed", "action", ac.base.Action, "target", ac.base.Target, "err", err)
	}
	return err
}

// outcome words the result of an action over count items, failed of which
// did not go through, or that err stopped: "ok", "partial: 2 of 5 failed",
// "failed: 5 of 5 failed" or "failed: <err>".
func outcome(count, failed int, err error) string {
	switch {
	case err != nil:
		return "failed: " + err.Error()
	case failed == 0:
		return "ok"
	case failed < count:
		return fmt.Sprintf("partial: %d of %d failed", failed, count)
	}
	return fmt.Sprintf("failed: %d of %d failed", failed, count)
}

// Running reports whether the audited action op (audit.Entry.Op) was
// begun by this relay and has not ended yet. A start line in the audit
// log whose op is not running here belongs to an action that is running
// elsewhere or that its process did not live to finish.
func (r *Relay) Running(op string) bool { return r.open.has(op) }

// openActions is a set of ops, safe for concurrent use. It holds one entry
// per action under way, so it stays as small as the work in flight.
type openActions struct {
	mu  sync.Mutex
	ops map[string]struct{}
}

func (o *openActions) add(op string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ops == nil {
		o.ops = make(map[string]struct{})
	}
	o.ops[op] = struct{}{}
}

func (o *openActions) remove(op string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.ops, op)
}

func (o *openActions) has(op string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.ops[op]
	return ok
}

func newOpID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "op_" + hex.EncodeToString(b[:])
}
