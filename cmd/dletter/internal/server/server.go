// Package server assembles the daemon's HTTP surface: the JSON API under
// /v1, the web console at /, /metrics and /healthz, behind authentication,
// a Host check, cross-origin protection and security headers.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/console"
	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
)

// Options configure the handler.
type Options struct {
	Relay   *relay.Relay
	Auth    *auth.Authenticator // nil: no token
	Metrics *metrics.Metrics    // nil: /metrics answers 404
	Logger  *slog.Logger
	// AllowedHosts are the names, besides loopback addresses and
	// localhost, that a daemon without a token answers to in the Host
	// header (its listen host, auth.allowed_hosts); any other Host gets 421.
	// Ports are not compared. With a token the Host is not checked.
	AllowedHosts []string
	// BodyTimeout bounds the time a client may take to send a request body;
	// 0 means DefaultBodyTimeout. (The headers are bounded by Serve's
	// ReadHeaderTimeout.)
	BodyTimeout time.Duration
}

// DefaultBodyTimeout is the default of Options.BodyTimeout: ample for the
// largest body the API takes (api.MaxBodyBytes) on a slow link, short enough
// that clients that stall cannot pile up connections.
const DefaultBodyTimeout = 30 * time.Second

// Handler returns the daemon's complete HTTP handler.
func Handler(o Options) http.Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	authn := o.Auth
	if authn == nil {
		authn = auth.New("")
	}
	mux := http.NewServeMux()
	api.New(o.Relay, log).Register(mux)
	console.New(console.Options{Relay: o.Relay, Auth: authn, Logger: log, Timeline: o.Metrics.Timeline()}).Register(mux)
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics.Handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if _, err := o.Relay.Count(ctx, ""); err != nil {
			// /healthz needs no token: the error (paths, addresses) is
			// only for those who have it.
			answer := map[string]string{"status": "unavailable"}
			if !authn.Enabled() || authn.Check(r) {
				answer["error"] = "dlq: " + err.Error()
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(answer)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	})
	var h http.Handler = mux
	h = requireAuth(authn, h)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(api.Error{Error: "cross-origin request refused: use this console's own pages, or a client that is not a browser"})
	}))
	h = cop.Handler(h)
	h = hostGuard(authn, newHostSet(o.AllowedHosts), h)
	h = securityHeaders(h)
	bodyTimeout := o.BodyTimeout
	if bodyTimeout <= 0 {
		bodyTimeout = DefaultBodyTimeout
	}
	h = bodyDeadline(bodyTimeout, h)
	return h
}

// bodyDeadline gives a request with a body d to send it (the headers are
// bounded by Serve's ReadHeaderTimeout). The connection's read deadline is
// set before the handler runs and cleared once the body has been read to its
// end, so that a synchronous delivery that takes longer than d after the body
// arrived is not cut off. It lives in the handler rather than in
// http.Server.ReadTimeout so that it holds however the handler is served. A
// client that stalls mid-body gets a 400 naming the body; the deadline then
// stays passed, so that the server's own draining of the rest of that body
// fails at once too.
func bodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			// A test recorder has no connection: no deadline then.
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody clears the connection's read deadline once the body has
// been read to its end.
type deadlineBody struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// public paths need no token: health checks, the login page and the
// console's static assets.
func public(path string) bool {
	return path == "/healthz" || path == "/login" || strings.HasPrefix(path, "/static/")
}

func requireAuth(a *auth.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.Enabled() || public(r.URL.Path) || a.Check(r) {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/v1/") || r.URL.Path == "/metrics" || r.Method != http.MethodGet {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dletter"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(api.Error{Error: "a bearer token is required (Authorization: Bearer <token>)"})
			return
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}

// Serve serves h on ln until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets requests in flight finish within grace, and
// returns. A request still running after grace has its context cancelled
// and gets a few seconds more (answerTimeout) to write its answer (a synchronous
// send parks its message and says so); only a request still running then
// is cut off.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, log *slog.Logger) error {
	return serve(ctx, ln, h, nil, grace, log)
}

// ServeTLS is Serve over TLS with cfg, which must provide the certificate
// (Certificates or GetCertificate). The TLS handshake is bounded like the
// request headers.
func ServeTLS(ctx context.Context, ln net.Listener, h http.Handler, cfg *tls.Config, grace time.Duration, log *slog.Logger) error {
	return serve(ctx, ln, h, cfg, grace, log)
}

// answerTimeout is how long the requests that Serve cancels at the end of
// the grace period get to write their answers before their connections are
// closed.
const answerTimeout = 5 * time.Second

func serve(ctx context.Context, ln net.Listener, h http.Handler, tlsCfg *tls.Config, grace time.Duration, log *slog.Logger) error {
	requests, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return requests },
	}
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// The requests still running at the end of grace are cancelled, not
	// cut off: their handlers still answer (a synchronous send parks its
	// message), and Shutdown waits for the answers to be written.
	cut := time.AfterFunc(grace, func() {
		log.Warn("requests still running after the shutdown grace period are cancelled; waiting for their answers",
			"grace", grace, "answer_timeout", answerTimeout)
		cancelRequests()
	})
	defer cut.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), grace+answerTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("requests still running after their answer time; closing them", "answer_timeout", answerTimeout)
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
