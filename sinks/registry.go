package sinks

import (
	"context"
	"sort"
	"sync"
)

// Registry is a name-to-Sink lookup table, safe for concurrent use.
// Embedders register sinks at boot (and may add more later) and publishers
// resolve them by name.
//
// A Registry built by NewRegistry with WithRetryPolicy or WithDLQ wraps every
// sink it registers, whenever that happens, in a Retrier with the sink's
// retry config and the shared DLQ; a sink that already has a Retrier
// anywhere in its chain of wrappers (a sink whose IsRetrier() bool method
// returns true, reached through Unwrap() Sink methods) is kept as it is.
// The zero Registry wraps nothing.
type Registry struct {
	mu    sync.RWMutex
	sinks map[string]Sink

	wrap     bool
	policy   RetryPolicy
	dlq      DLQ
	retrOpts []RetrierOption
	delivery *DeliveryPolicy // nil: no gates
}

// RegistryOption configures NewRegistry.
type RegistryOption func(*Registry)

// WithRetryPolicy wraps each registered sink in a Retrier configured by
// p.For(sink name).
func WithRetryPolicy(p RetryPolicy) RegistryOption {
	return func(r *Registry) { r.wrap, r.policy = true, p }
}

// WithDLQ wraps each registered sink in a Retrier that dead-letters into d.
// When d has a SetRegistryLookup method (every Store does), NewRegistry
// wires it to the registry, so that d.Replay finds the sinks.
func WithDLQ(d DLQ) RegistryOption {
	return func(r *Registry) { r.wrap, r.dlq = true, d }
}

// WithDeliveryPolicy wraps each registered sink in a Retrier whose sends
// respect p.For(sink name): its concurrency, rate and circuit breaker. The
// limits are shared by the synchronous Retrier and by a Dispatcher built on
// the registry; a sink with the ConcurrencyAware capability is told its
// concurrency. A Dispatcher needs this option (DeliveryPolicy{} gives the
// defaults).
func WithDeliveryPolicy(p DeliveryPolicy) RegistryOption {
	return func(r *Registry) { r.wrap, r.delivery = true, &p }
}

// ConcurrencyAware is an optional capability of a Sink: a Registry built
// WithDeliveryPolicy calls SetConcurrency once, before the sink is used,
// with the most sends it will have in flight, so that a sink that pools
// connections (the HTTP sinks) keeps as many open.
type ConcurrencyAware interface {
	SetConcurrency(n int)
}

// WithRetrierOptions passes opts to every Retrier the registry creates.
func WithRetrierOptions(opts ...RetrierOption) RegistryOption {
	return func(r *Registry) { r.retrOpts = append(r.retrOpts, opts...) }
}

// NewRegistry returns an empty registry configured by opts.
func NewRegistry(opts ...RegistryOption) *Registry {
	r := &Registry{}
	for _, o := range opts {
		o(r)
	}
	if s, ok := r.dlq.(interface{ SetRegistryLookup(RegistryLookup) }); ok {
		s.SetRegistryLookup(r.Lookup)
	}
	return r
}

// Register adds s under s.Name(), wrapped as the registry is configured to.
// An empty name, a nil sink or a name already registered is an error
// matching ErrInvalidArgument.
func (r *Registry) Register(s Sink) error {
	if s == nil {
		return Errorf(CodeInvalidArgument, "Registry.Register", "nil sink")
	}
	name := s.Name()
	if name == "" {
		return Errorf(CodeInvalidArgument, "Registry.Register", "a sink needs a name")
	}
	if r.wrap && !isRetried(s) {
		opts := r.retrOpts
		if r.delivery != nil {
			g := newGate(name, r.delivery.For(name))
			if c, ok := findCapability[ConcurrencyAware](s); ok {
				c.SetConcurrency(g.cfg.Concurrency)
			}
			opts = append(opts[:len(opts):len(opts)], withGate(g))
		}
		s = NewRetrier(s, r.policy.For(name), r.dlq, opts...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.sinks[name]; dup {
		return Errorf(CodeInvalidArgument, "Registry.Register", "sink %q is already registered", name)
	}
	if r.sinks == nil {
		r.sinks = make(map[string]Sink)
	}
	r.sinks[name] = s
	return nil
}

// Unregister removes the sink called name and reports whether there was one.
func (r *Registry) Unregister(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.sinks[name]
	delete(r.sinks, name)
	return ok
}

// Lookup returns the (wrapped) sink called name. It is a RegistryLookup.
func (r *Registry) Lookup(name string) (Sink, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.sinks[name]
	return s, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.sinks))
	for n := range r.sinks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Send delivers m through the sink called name. An unknown name is an error
// matching ErrNotFound.
func (r *Registry) Send(ctx context.Context, name string, to Recipient, m Message) error {
	s, ok := r.Lookup(name)
	if !ok {
		return Errorf(CodeNotFound, "Registry.Send", "no sink called %q", name)
	}
	return s.Send(ctx, to, m)
}

// maxUnwrap bounds a walk down a chain of wrappers, against cycles.
const maxUnwrap = 64

// isRetried reports whether s, or any sink in its chain of wrappers (each
// with an Unwrap() Sink method), is a retrier (has an IsRetrier() bool
// method that returns true).
func isRetried(s Sink) bool {
	for i := 0; s != nil && i < maxUnwrap; i++ {
		if m, ok := s.(interface{ IsRetrier() bool }); ok && m.IsRetrier() {
			return true
		}
		u, ok := s.(interface{ Unwrap() Sink })
		if !ok {
			return false
		}
		s = u.Unwrap()
	}
	return false
}

// findCapability returns the first sink in s's chain of wrappers (s itself
// first) that implements T.
func findCapability[T any](s Sink) (T, bool) {
	for i := 0; s != nil && i < maxUnwrap; i++ {
		if c, ok := s.(T); ok {
			return c, true
		}
		u, ok := s.(interface{ Unwrap() Sink })
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	var zero T
	return zero, false
}
