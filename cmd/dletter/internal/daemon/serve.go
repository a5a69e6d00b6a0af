package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/server"
)

// ErrNoToken is returned when the daemon would listen beyond loopback
// without a token.
var ErrNoToken = errors.New("refusing to listen on a non-loopback address without a token: set auth.token_env or auth.token_file")

// ServeOptions tune Serve.
type ServeOptions struct {
	Logger *slog.Logger
	// Out receives the start-up banner (the console's URL).
	Out io.Writer
	// Grace is how long in-flight requests and async sends may run after a
	// shutdown signal; 0 takes the delivery block's shutdown_timeout (30s
	// unless the configuration says otherwise), and NoGrace (any negative
	// value) gives them none: they are cancelled at once. Past it their
	// contexts are cancelled: a synchronous delivery still retrying parks
	// its message in the DLQ and answers with its id (its request gets a
	// few more seconds to write that answer), and an async send is kept in
	// the queue for the next start; Serve waits for both before closing
	// the DLQ.
	Grace time.Duration
	// Listener, when not nil, is used instead of listening on cfg.Listen.
	Listener net.Listener
	// Reload delivers SIGHUP: each value reloads the TLS key pair from its
	// files (nil: never).
	Reload <-chan os.Signal
}

// NoGrace is the ServeOptions.Grace that cancels deliveries in flight as
// soon as the shutdown signal comes, keeping what is queued.
const NoGrace time.Duration = -1

// Serve runs the daemon until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish (or persist their
// message) within the grace period, stops the async loop and closes every
// log.
func Serve(ctx context.Context, cfg *config.Config, o ServeOptions) (err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token, err := cfg.Token()
	if err != nil {
		return err
	}
	if token == "" && !cfg.LoopbackOnly() {
		return &config.Error{File: cfg.File, Key: "auth", Value: cfg.Listen, Reason: ErrNoToken.Error(), Err: ErrNoToken}
	}
	certs, err := loadTLS(cfg, log)
	if err != nil {
		return err
	}
	core, err := Open(cfg, Options{Logger: log, Async: true})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, core.Close()) }()
	switch {
	case o.Grace == 0:
		o.Grace = core.Delivery.Shutdown()
	case o.Grace < 0:
		o.Grace = 0
	}

	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
	}
	var inflight sync.WaitGroup
	h := server.Handler(server.Options{Relay: core.Relay, Auth: auth.New(token), Metrics: core.Metrics, Logger: log,
		AllowedHosts: allowedHosts(cfg)})
	h = track(&inflight, h)

	if err := core.Dispatcher.Start(); err != nil {
		_ = ln.Close()
		return err
	}
	scheme := "http://"
	if certs != nil {
		scheme = "https://"
	}
	url := scheme + ln.Addr().String() + "/"
	if o.Out != nil {
		fmt.Fprintf(o.Out, "dletter: serving on %s\n  console: %s\n  API:     %sv1/   metrics: %smetrics\n  data:    %s (DLQ: %s)\n",
			ln.Addr(), url, url, url, cfg.DataDir, cfg.DLQ.Backend)
		if cfg.Auth.ReadOnly {
			fmt.Fprintln(o.Out, "  read-only mode: replay, redrive, discard and sends are refused")
		}
		if len(cfg.Sinks) == 0 {
			fmt.Fprintln(o.Out, "  no sinks are configured: pass --config FILE (see examples/dletter.yaml)")
		}
		if certs == nil && !cfg.LoopbackOnly() {
			fmt.Fprintln(o.Out, "  warning: "+plainWarning)
		}
	}
	if certs == nil && !cfg.LoopbackOnly() {
		log.Warn(plainWarning, "listen", cfg.Listen)
	}
	log.Info("serving", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "dlq", cfg.DLQ.Backend,
		"sinks", cfg.SinkNames(), "auth", token != "", "read_only", cfg.Auth.ReadOnly, "tls", certs != nil)

	// The grace period runs from the shutdown signal, for the requests and
	// the async sends together. The Dispatcher closes beside the HTTP
	// server's shutdown: at the deadline its sends are cancelled while the
	// requests cut short there write their answers.
	served := make(chan struct{})
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		select {
		case <-ctx.Done():
		case <-served:
		}
		closeDispatcher(core, served, &inflight, o.Grace, log)
	}()
	err = serveHTTP(ctx, ln, h, certs, o, log)
	close(served)
	<-closed
	return err
}

// closeDispatcher closes the Dispatcher once the HTTP server is done
// (served), since its requests may still enqueue, and the requests still
// running after it (inflight) ended, or at the end of grace from now: its
// sends get until then.
func closeDispatcher(core *Core, served <-chan struct{}, inflight *sync.WaitGroup, grace time.Duration, log *slog.Logger) {
	deadline := time.Now().Add(grace)
	log.Info("shutting down: waiting for in-flight deliveries", "until", deadline)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-served:
		waitTimeout(inflight, time.Until(deadline))
	case <-t.C:
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := core.Dispatcher.Close(ctx); err != nil {
		log.Warn("async sends still in flight at the deadline were cancelled; they stay queued for the next start", "err", err)
	}
}

// allowedHosts are the names a daemon without a token answers to besides
// loopback: its listen host and auth.allowed_hosts.
func allowedHosts(cfg *config.Config) []string {
	hosts := slices.Clone(cfg.Auth.AllowedHosts)
	if h, _, err := net.SplitHostPort(cfg.Listen); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	return hosts
}

// track counts the requests in flight.
func track(wg *sync.WaitGroup, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		h.ServeHTTP(w, r)
	})
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
