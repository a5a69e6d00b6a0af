package sinks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Leases on DLQ items
//
// Several processes may share one DLQ (daemons on one RedisDLQ), and one
// process may run a redrive beside an operator's replay. Without care two of
// them replay the same item and its message is delivered twice. So the
// replay, redrive and discard of an item first take a lease on it: a lease
// belongs to one holder (a random token a context carries), and while it
// lasts every other holder's replay, redrive or discard of the item is
// refused with an error matching ErrBusy that names the holder. A lease
// lasts its TTL and its holder renews it every third of the TTL while it
// works, so it outlives any replay, and the item of a holder that died (a
// crashed process) is free again one TTL later at the latest.

// leaseTTL is the TTL of the leases that ReplayItem, Redrive and
// LeaseItem take. A replay with the default retry policy makes at most 5
// attempts of at most 15s each (the webhook sink's timeout; Slack's is 10s)
// with at most 30s between them, so it takes under 4 minutes: the lease
// outlives it even when its renewals fail (a Redis that went away for a
// while). Renewals every third of the TTL keep it for longer replays (a
// larger RetryPolicy or WithAttemptTimeout). The TTL is also how long the
// item of a process that crashed mid-replay stays busy.
const leaseTTL = 5 * time.Minute

// leaseReleaseTimeout bounds the release of a lease, which runs even when
// the holder's context was cancelled.
const leaseReleaseTimeout = 10 * time.Second

// Leaser is a Store that leases its items, so that an item is replayed,
// redriven or discarded by one holder at a time. MemoryDLQ and FileDLQ keep
// their leases in the process (which alone has them open); RedisDLQ keeps
// them in Redis, for every process that shares it; FallbackDLQ asks the
// store that holds the item. Callers take leases with LeaseItem;
// ReplayItem, Redrive and a Leaser's Discard take them themselves.
type Leaser interface {
	// Lease takes the lease on item id for ttl on behalf of the holder
	// that ctx carries (see WithLeaseHolder; without one, a holder of its
	// own that no other call shares), and renews it every third of ttl
	// until release is called or ctx is done (it then lapses ttl after
	// its last renewal unless released). A lease its holder has already is
	// taken again at once: that release does nothing, the first one lets
	// the lease go. While another holder has it, Lease returns an error
	// matching ErrBusy that says who. The item need not exist; an id the
	// store can never hold is an error matching ErrNotFound. release is
	// idempotent and waits for a renewal in progress.
	Lease(ctx context.Context, id string, ttl time.Duration) (release func(), err error)
}

// LeaseHolder is who holds a lease.
type LeaseHolder struct {
	// Token is random: a store's lease whose token matches belongs to
	// this holder.
	Token string
	// Name says who the holder is, for the errors others get, such as
	// "replay by alice (host1 pid 42)".
	Name string
}

type leaseHolderKey struct{}

// WithLeaseHolder returns a context whose leases (taken by LeaseItem, and
// by the Replay, Redrive and Discard it is passed to) belong to a new
// holder named name, such as "replay by alice": an item it leases is busy
// for every other holder, and taking the lease again with this context
// succeeds at once, so that a Discard after a Replay under one LeaseItem
// does not refuse itself. The name, followed by the host name and the
// process id, is what others' ErrBusy errors show. A holder is one line of
// work: concurrent operations on the same item need holders of their own.
func WithLeaseHolder(ctx context.Context, name string) context.Context {
	return withHolder(ctx, LeaseHolder{Token: newLeaseToken(), Name: name + " (" + processName() + ")"})
}

// LeaseHolderOf returns the holder ctx carries; ok is false when it
// carries none.
func LeaseHolderOf(ctx context.Context) (h LeaseHolder, ok bool) {
	h, ok = ctx.Value(leaseHolderKey{}).(LeaseHolder)
	return h, ok
}

func withHolder(ctx context.Context, h LeaseHolder) context.Context {
	return context.WithValue(ctx, leaseHolderKey{}, h)
}

// ensureHolder returns ctx with a holder: its own, or a new one named name.
func ensureHolder(ctx context.Context, name string) context.Context {
	if _, ok := LeaseHolderOf(ctx); ok {
		return ctx
	}
	return WithLeaseHolder(ctx, name)
}

// holderFor is the holder of ctx, or a new one of its own.
func holderFor(ctx context.Context, name string) LeaseHolder {
	h, _ := LeaseHolderOf(ensureHolder(ctx, name))
	return h
}

// processName is "<host> pid <pid>", which tells the daemons sharing a
// Redis apart.
var processName = sync.OnceValue(func() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown host"
	}
	return fmt.Sprintf("%s pid %d", host, os.Getpid())
})

func newLeaseToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// LeaseItem takes the lease on item id of st for five minutes (renewed
// while it is held), when st is a Leaser (other stores lease nothing), under the holder ctx carries or
// a new one. Pass the context it returns to st.Replay and st.Discard of
// the item while the lease is held: they take it again as its holder.
// release lets the lease go (it is idempotent). While another holder has
// the item, the error matches ErrBusy.
func LeaseItem(ctx context.Context, st Store, id string) (context.Context, func(), error) {
	ctx = ensureHolder(ctx, "lease")
	l, ok := st.(Leaser)
	if !ok {
		return ctx, func() {}, nil
	}
	release, err := l.Lease(ctx, id, leaseTTL)
	if err != nil {
		return ctx, func() {}, err
	}
	return ctx, release, nil
}

// itemLease is the lease of one item in one store: what keepLease needs
// of a backend.
type itemLease interface {
	// acquire takes the lease for h; again is true when h had it already.
	acquire(ctx context.Context, h LeaseHolder, ttl time.Duration) (again bool, err error)
	// renew extends h's lease to ttl from now; it fails with errLeaseLost
	// when h no longer has it.
	renew(ctx context.Context, h LeaseHolder, ttl time.Duration) error
	// free lets h's lease go, if h still has it.
	free(ctx context.Context, h LeaseHolder)
}

// errLeaseLost is the renewal of a lease that expired or was taken over.
var errLeaseLost = errors.New("sinks: the lease was lost")

// takeLease is the Lease of every backend: it validates ttl, acquires the
// lease for ctx's holder, and keeps it until release or the end of ctx.
func takeLease(ctx context.Context, op string, l itemLease, ttl time.Duration) (func(), error) {
	if ttl <= 0 {
		return nil, Errorf(CodeInvalidArgument, op, "lease TTL %v is not positive", ttl)
	}
	h := holderFor(ctx, "lease")
	again, err := l.acquire(ctx, h, ttl)
	if err != nil {
		return nil, err
	}
	if again {
		return func() {}, nil
	}
	return keepLease(ctx, l, h, ttl), nil
}

// keepLease renews h's lease every third of ttl until release is called or
// ctx is done, and returns release: it stops the renewals and frees the
// lease, once.
func keepLease(ctx context.Context, l itemLease, h LeaseHolder, ttl time.Duration) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(ttl/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(ctx, ttl/3+time.Millisecond)
			err := l.renew(rctx, h, ttl)
			cancel()
			if errors.Is(err, errLeaseLost) {
				return // another holder may have it now: nothing to keep
			}
			// Other errors (a server that does not answer) are tried
			// again on the next tick, while the lease still runs.
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
			defer cancel()
			l.free(fctx, h)
		})
	}
}

// busyError is the refusal of a lease that holder has for left longer.
func busyError(op, id, holder string, left time.Duration) error {
	if holder == "" {
		holder = "another holder"
	}
	msg := fmt.Sprintf("item %q is busy: %s has leased it", id, holder)
	if left > 0 {
		d := left.Round(time.Second)
		if d == 0 {
			d = left.Round(time.Millisecond)
		}
		msg += fmt.Sprintf(" (for at most %s more)", d)
	}
	return &Error{Code: CodeBusy, Op: op, Msg: msg}
}

// leaseValue is a lease as a store keeps it: "<token> <holder name>".
func leaseValue(h LeaseHolder) string { return h.Token + " " + h.Name }

// splitLeaseValue returns the token and holder name of a stored lease.
func splitLeaseValue(v string) (token, name string) {
	token, name, _ = strings.Cut(v, " ")
	return token, name
}
