package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// TestServeWarnsWithoutTLSBeyondLoopback: a daemon configured to listen
// beyond loopback without TLS says at start, on its banner and in its log,
// that the token crosses the network in clear; on loopback, or with TLS,
// it does not.
func TestServeWarnsWithoutTLSBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t)
	certFile, keyFile := ca.WriteFiles(t, dir, 1)
	t.Setenv("DLETTER_TEST_TOKEN", "warn-token")
	for _, c := range []struct {
		listen string
		tls    bool
		warn   bool
	}{
		{"0.0.0.0:8443", false, true},
		{"[::]:8443", false, true},
		{"127.0.0.1:8080", false, false},
		{"0.0.0.0:8443", true, false},
	} {
		cfg := config.Default()
		cfg.Listen = c.listen
		cfg.DataDir = filepath.Join(dir, "data")
		cfg.DLQ.Backend = config.BackendMemory
		cfg.Auth.TokenEnv = "DLETTER_TEST_TOKEN"
		client := http.DefaultClient
		scheme := "http://"
		if c.tls {
			cfg.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
			scheme = "https://"
		}
		// The configured address decides the warning; the test listens on
		// loopback only.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var out, logs bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Serve(ctx, cfg, ServeOptions{Listener: ln, Out: &out, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		}()
		// The listener queues the request until the daemon serves it,
		// after printing its banner.
		res, err := client.Get(scheme + ln.Addr().String() + "/healthz")
		if err != nil {
			cancel()
			t.Fatalf("%s tls=%v: %v", c.listen, c.tls, err)
		}
		res.Body.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("%s tls=%v: Serve: %v", c.listen, c.tls, err)
		}
		client.CloseIdleConnections()
		warned := strings.Contains(out.String(), "warning: listening beyond loopback without TLS")
		logged := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "without TLS")
		if warned != c.warn || logged != c.warn {
			t.Errorf("%s tls=%v: banner warns %v, log warns %v, want %v\n%s\n%s", c.listen, c.tls, warned, logged, c.warn, &out, &logs)
		}
	}
}

// TestServeNoGraceStopsAtOnce: with NoGrace, a shutdown cancels a delivery
// in flight at once instead of giving it delivery.shutdown_timeout.
func TestServeNoGraceStopsAtOnce(t *testing.T) {
	hook := testenv.NewReceiver(t)
	hook.Hold()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DLQ.Backend = config.BackendMemory
	cfg.Sinks = map[string]map[string]any{"slow": {"kind": "webhook", "url": hook.URL + "/slow"}}
	cfg.Delivery = map[string]any{"shutdown_timeout": "10m"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, ServeOptions{Listener: ln, Grace: NoGrace}) }()
	sent := make(chan error, 1)
	go func() {
		res, err := http.Post("http://"+ln.Addr().String()+"/v1/sinks/slow/messages", "application/json",
			strings.NewReader(`{"subject":"in flight"}`))
		if err == nil {
			res.Body.Close()
		}
		sent <- err
	}()
	testenv.WaitFor(t, "the delivery to reach the sink", func() bool { return hook.Attempts() >= 1 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve still waits for the delivery in flight: NoGrace gave it the shutdown timeout")
	}
	<-sent
}
