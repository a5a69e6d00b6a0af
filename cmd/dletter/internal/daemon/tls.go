package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/server"
	"github.com/dletter/dletter/cmd/dletter/internal/tlscert"
)

// plainWarning is printed when the daemon listens beyond loopback without
// TLS.
const plainWarning = "listening beyond loopback without TLS: the token and the items cross the network in clear; " +
	"set tls.cert_file and tls.key_file (serve --tls-cert, --tls-key) or serve behind a proxy that terminates TLS"

// loadTLS loads the configured key pair (nil when TLS is off). An error
// names the file at fault as a configuration error.
func loadTLS(cfg *config.Config, log *slog.Logger) (*tlscert.Reloader, error) {
	if !cfg.TLS.Enabled() {
		return nil, nil
	}
	certs, err := tlscert.Load(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	var le *tlscert.Error
	if errors.As(err, &le) {
		return nil, &config.Error{File: cfg.File, Key: "tls." + le.Key, Value: le.File,
			Reason: "cannot load the TLS key pair: " + le.Err.Error(), Err: err}
	}
	if err != nil {
		return nil, err
	}
	logCertificate(log, "tls: serving certificate", certs)
	return certs, nil
}

// serveHTTP serves h on ln until ctx ends: over TLS with certs (reloaded on
// o.Reload) when not nil, plain HTTP otherwise.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, certs *tlscert.Reloader, o ServeOptions, log *slog.Logger) error {
	if certs == nil {
		return server.Serve(ctx, ln, h, o.Grace, log)
	}
	rctx, stopReload := context.WithCancel(ctx)
	waitReload := reloadOnSignal(rctx, certs, o.Reload, log)
	defer waitReload()
	defer stopReload()
	return server.ServeTLS(ctx, ln, h, certs.Config(), o.Grace, log)
}

// reloadOnSignal reloads certs each time reload delivers, until ctx ends;
// a pair that fails to load is logged and the current one kept. The
// returned function waits for the goroutine to end.
func reloadOnSignal(ctx context.Context, certs *tlscert.Reloader, reload <-chan os.Signal, log *slog.Logger) (wait func()) {
	var wg sync.WaitGroup
	if certs == nil || reload == nil {
		return wg.Wait
	}
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-reload:
				if err := certs.Reload(); err != nil {
					log.Error("tls: reload failed; keeping the current key pair", "signal", sig.String(), "err", err)
					continue
				}
				logCertificate(log, "tls: reloaded the key pair", certs)
			}
		}
	})
	return wg.Wait
}

func logCertificate(log *slog.Logger, msg string, certs *tlscert.Reloader) {
	leaf := certs.Leaf()
	log.Info(msg, "serial", leaf.SerialNumber.Text(16), "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
}
