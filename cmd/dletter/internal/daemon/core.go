// Package daemon assembles dletter from its configuration: the sinks, each
// wrapped in a Retrier that dead-letters into the configured DLQ, the async
// delivery log, the audit log and the metrics, and runs `dletter serve`.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// Core is what `dletter serve` and the local operator commands share.
type Core struct {
	Config   *config.Config
	Store    sinks.Store
	Registry *sinks.Registry
	Metrics  *metrics.Metrics
	Audit    *audit.Log
	Relay    *relay.Relay
	// Queue and Dispatcher are the async delivery path, nil unless
	// Options.Async. Serve starts the Dispatcher.
	Queue      sinks.Queue
	Dispatcher *sinks.Dispatcher
	// Delivery is the delivery block: per-sink limits and the shutdown
	// timeout.
	Delivery sinks.DeliveryPolicy

	jobsClient io.Closer // of the redrives on Redis
	closeOnce  sync.Once
	closeErr   error
}

// Options tune Open.
type Options struct {
	Logger *slog.Logger
	// Async opens the async delivery queue and its Dispatcher (not
	// started), and keeps dead letters on local disk while a Redis DLQ is
	// down (the daemon does; commands don't).
	Async bool
	// ReadOnly forces read-only mode on top of the configuration.
	ReadOnly bool
	// AuditFile is where the audit log goes; "" means audit.log in the
	// data directory.
	AuditFile string
}

// auditFile is the audit log's name inside the data directory.
const auditFile = "audit.log"

// Open builds everything cfg describes. Close releases it.
func Open(cfg *config.Config, opts Options) (_ *Core, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Core{Config: cfg}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	auditPath := opts.AuditFile
	if auditPath == "" {
		auditPath = filepath.Join(cfg.DataDir, auditFile)
	}
	if cfg.DLQ.Backend == config.BackendFile || opts.Async || opts.AuditFile == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	policy, err := cfg.RetryPolicy()
	if err != nil {
		return nil, err
	}
	if c.Delivery, err = cfg.DeliveryPolicy(); err != nil {
		return nil, err
	}
	if c.Store, err = OpenStore(cfg, opts.Async, log); err != nil {
		return nil, err
	}
	var states metrics.StatesFunc
	if opts.Async {
		states = func() []sinks.SinkState { return c.Dispatcher.States() }
	}
	c.Metrics = metrics.New(c.Store.Stats, states)
	c.Registry = sinks.NewRegistry(sinks.WithRetryPolicy(policy), sinks.WithDeliveryPolicy(c.Delivery),
		sinks.WithDLQ(c.Store), sinks.WithRetrierOptions(sinks.WithObserver(c.Metrics.Observe)))
	for _, name := range cfg.SinkNames() {
		s, err := BuildSink(cfg, name)
		if err != nil {
			return nil, err
		}
		if err := c.Registry.Register(s); err != nil {
			return nil, err
		}
	}
	if c.Audit, err = audit.Open(auditPath); err != nil {
		return nil, err
	}
	if opts.Async {
		if c.Queue, err = OpenQueue(cfg, log); err != nil {
			return nil, err
		}
		if c.Dispatcher, err = sinks.NewDispatcher(c.Registry, c.Queue, sinks.WithDispatcherLogger(log)); err != nil {
			return nil, err
		}
	}
	ro := cfg.Auth.ReadOnly || opts.ReadOnly
	ropts := relay.Options{Store: c.Store, Sinks: c.Registry, Audit: c.Audit,
		Metrics: c.Metrics, ReadOnly: ro, Logger: log, Kinds: sinkKinds(cfg)}
	if c.Dispatcher != nil {
		ropts.Queue, ropts.States = c.Dispatcher, c.Dispatcher.States
	}
	if opts.Async && cfg.DLQ.Backend == config.BackendRedis {
		if ropts.Redrives, err = c.openJobs(cfg); err != nil {
			return nil, err
		}
	}
	c.Relay = relay.New(ropts)
	return c, nil
}

// sinkKinds maps each configured sink to its kind.
func sinkKinds(cfg *config.Config) map[string]string {
	kinds := make(map[string]string, len(cfg.Sinks))
	for name, block := range cfg.Sinks {
		kinds[name], _ = block["kind"].(string)
	}
	return kinds
}

// BuildSink builds the sink cfg calls name, wrapped so that its errors never
// show the secrets of its configuration. An unknown name matches
// relay.ErrUnknownSink; a mistake in its block is a *config.Error naming
// the file and the key (with the *sinks.ConfigError in its chain).
func BuildSink(cfg *config.Config, name string) (sinks.Sink, error) {
	block, ok := cfg.Sinks[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q (configured: %s)", relay.ErrUnknownSink, name, strings.Join(cfg.SinkNames(), ", "))
	}
	kind, _ := block["kind"].(string)
	s, err := sinks.BuildSink(kind, name, block)
	if err != nil {
		return nil, cfg.SinkError(name, err)
	}
	return redact(s, block), nil
}

// Close stops the redrives and the Dispatcher (cancelling the sends in
// flight at once: Serve lets them finish first), then closes the async
// queue, the DLQ and the audit log. It is idempotent.
func (c *Core) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		if c.Relay != nil {
			c.Relay.Close()
		}
		if c.jobsClient != nil {
			_ = c.jobsClient.Close()
		}
		if c.Dispatcher != nil {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = c.Dispatcher.Close(ctx) // a no-op after Serve's graceful Close
		}
		if c.Queue != nil {
			errs = append(errs, c.Queue.Close())
		}
		if c.Store != nil {
			if err := c.Store.Close(); err != nil && !errors.Is(err, sinks.ErrClosed) {
				errs = append(errs, err)
			}
		}
		errs = append(errs, c.Audit.Close())
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
