package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// tlsSetup makes a CA, writes its certificate to dir/ca.pem and a server
// certificate with serial 1 to dir/cert.pem and dir/key.pem.
func tlsSetup(t *testing.T, dir string) (ca *testenv.CA, caFile, certFile, keyFile string) {
	t.Helper()
	ca = testenv.NewCA(t)
	caFile = filepath.Join(dir, "ca.pem")
	testenv.WriteFile(t, caFile, ca.PEM)
	certFile, keyFile = ca.WriteFiles(t, dir, 1)
	return ca, caFile, certFile, keyFile
}

// hostPort is the daemon's address without the scheme.
func (d *daemon) hostPort() string {
	return strings.TrimPrefix(strings.TrimPrefix(d.URL, "https://"), "http://")
}

// handshake opens a new TLS connection to the daemon (no session
// resumption) with cfg and returns its state.
func (d *daemon) handshake(cfg *tls.Config) (tls.ConnectionState, error) {
	conn, err := tls.Dial("tcp", d.hostPort(), cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

// servedSerial is the serial number of the certificate the daemon serves
// now, checked against the CA.
func (d *daemon) servedSerial(ca *testenv.CA) int64 {
	d.t.Helper()
	st, err := d.handshake(&tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		d.t.Fatalf("handshake: %v\n%s", err, d.logs)
	}
	return st.PeerCertificates[0].SerialNumber.Int64()
}

// TestServeTLS: with --tls-cert and --tls-key the daemon serves HTTPS with
// a certificate from a CA made here: a client trusting that CA completes a
// TLS 1.2+ handshake and uses the API and the console (whose cookies are
// Secure); a TLS 1.1 client, a plain HTTP request and a client that does
// not trust the CA fail; the command lists the DLQ and sends over https
// with --ca-file.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caFile, certFile, keyFile := tlsSetup(t, dir)
	hook := testenv.NewReceiver(t)
	t.Setenv("DLETTER_E2E_TOKEN", "tls-token")
	t.Setenv("DLETTER_TOKEN", "tls-token")
	cfg := writeConfig(t, dir, hook.URL, "retry: {max_attempts: 1}")
	d := startDaemon(t, "--config", cfg, "--token-env", "DLETTER_E2E_TOKEN", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(d.URL, "https://127.0.0.1:") {
		t.Fatalf("console URL %s", d.URL)
	}

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	t.Cleanup(hc.CloseIdleConnections)
	hook.Fail.Store(true)
	req, _ := http.NewRequest("POST", d.URL+"/v1/sinks/orders/messages", strings.NewReader(`{"subject":"over tls"}`))
	req.Header.Set("Authorization", "Bearer tls-token")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("https request: %v\n%s", err, d.logs)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || res.TLS == nil || res.TLS.Version < tls.VersionTLS12 ||
		res.TLS.PeerCertificates[0].SerialNumber.Int64() != 1 {
		t.Fatalf("park over https: %d %+v", res.StatusCode, res.TLS)
	}
	hook.Fail.Store(false)

	// TLS versions: 1.2 and 1.3 are served, 1.1 is refused.
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		if st, err := d.handshake(&tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: v, MaxVersion: v}); err != nil || st.Version != v {
			t.Errorf("TLS version %x: %v", v, err)
		}
	}
	_, err = d.handshake(&tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("a TLS 1.1 client: %v", err)
	}
	// Plain HTTP and an unknown CA fail.
	plain, err := http.Get("http://" + d.hostPort() + "/healthz")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Error("the daemon answered plain HTTP")
		}
	}
	var unknown x509.UnknownAuthorityError
	if _, err := d.handshake(&tls.Config{ServerName: "127.0.0.1"}); !errors.As(err, &unknown) {
		t.Errorf("a client without the CA: %v", err)
	}

	// The console's cookies are Secure over TLS.
	set := testenv.NewConsole(t, d.URL, hc).Login("tls-token", "alice")
	for _, name := range []string{auth.SessionCookie, "dletter_csrf", "dletter_actor"} {
		if c := set[name]; c == nil || !c.Secure {
			t.Errorf("cookie %s: %+v", name, c)
		}
	}

	// The command, over https.
	out, errOut, code := run(t, "dlq", "ls", "--dlq", d.URL, "--ca-file", caFile, "-o", "json")
	var page itemsPage
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 || page.Items[0].Message.Subject != "over tls" {
		t.Fatalf("dlq ls over https: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := run(t, "dlq", "ls", "--dlq", d.URL); code != 1 || !strings.Contains(errOut, "--ca-file") {
		t.Errorf("dlq ls without the CA: %d %s", code, errOut)
	}
	if _, errOut, code := run(t, "dlq", "ls", "--dlq", d.URL, "--ca-file", keyFile); code != 2 || !strings.Contains(errOut, keyFile) {
		t.Errorf("dlq ls with a CA file holding no certificate: %d %s", code, errOut)
	}
	if _, errOut, code := run(t, "dlq", "ls", "--dlq", strings.Replace(d.URL, "https", "http", 1), "--ca-file", caFile); code != 2 || !strings.Contains(errOut, "https://") {
		t.Errorf("--ca-file with an http:// daemon: %d %s", code, errOut)
	}
	if out, errOut, code := run(t, "send", "orders", "--via", d.URL, "--ca-file", caFile, "--subject", "sent over tls"); code != 0 {
		t.Errorf("send over https: %d %s %s", code, out, errOut)
	}
	if hook.Total() != 1 {
		t.Errorf("the receiver got %d messages, want the one sent", hook.Total())
	}
	if strings.Contains(d.logs.String(), "tls-token") {
		t.Error("the token was logged")
	}
	if err := d.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, d.logs)
	}
}

// TestTLSReloadOnSIGHUP: SIGHUP makes the daemon serve the key pair now in
// its files (configured in the tls block) to new connections; a pair that
// does not load is logged and the current one kept, and the daemon goes on.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ca, _, certFile, keyFile := tlsSetup(t, dir)
	cfg := writeConfig(t, dir, "http://127.0.0.1:1", "tls:\n  cert_file: "+certFile+"\n  key_file: "+keyFile)
	d := startDaemon(t, "--config", cfg)
	if s := d.servedSerial(ca); s != 1 {
		t.Fatalf("serial %d at start", s)
	}
	hup := func(logLine string, n int) {
		t.Helper()
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, "the daemon to log "+logLine, func() bool { return strings.Count(d.logs.String(), logLine) == n })
	}
	ca.WriteFiles(t, dir, 2)
	hup("tls: reloaded the key pair", 1)
	if s := d.servedSerial(ca); s != 2 {
		t.Fatalf("serial %d after SIGHUP, want 2", s)
	}

	next, _ := ca.Issue(t, 3)
	testenv.WriteFile(t, certFile, next) // the key file still holds the key of 2
	hup("tls: reload failed; keeping the current key pair", 1)
	if !strings.Contains(d.logs.String(), keyFile) {
		t.Errorf("the failed reload does not name %s:\n%s", keyFile, d.logs)
	}
	if s := d.servedSerial(ca); s != 2 {
		t.Fatalf("serial %d after a bad pair, want 2 kept", s)
	}
	testenv.WriteFile(t, certFile, []byte("not a certificate"))
	hup("tls: reload failed; keeping the current key pair", 2)
	if s := d.servedSerial(ca); s != 2 {
		t.Fatalf("serial %d after a broken file, want 2 kept", s)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, d.logs)
	}
}

// TestServeTLSStartupErrors: a missing or unusable certificate or key stops
// the daemon at start with a usage error naming the file.
func TestServeTLSStartupErrors(t *testing.T) {
	dir := t.TempDir()
	_, caFile, certFile, keyFile := tlsSetup(t, dir)
	missing := filepath.Join(dir, "missing.pem")
	data := filepath.Join(dir, "data")
	for _, c := range []struct {
		args  []string
		names []string
	}{
		{[]string{"--tls-cert", missing, "--tls-key", keyFile}, []string{"tls.cert_file", missing}},
		{[]string{"--tls-cert", certFile, "--tls-key", missing}, []string{"tls.key_file", missing}},
		{[]string{"--tls-cert", keyFile, "--tls-key", keyFile}, []string{"tls.cert_file", keyFile, "no PEM certificate"}},
		{[]string{"--tls-cert", certFile, "--tls-key", caFile}, []string{"tls.key_file", caFile}},
		{[]string{"--tls-cert", certFile}, []string{"tls", "key_file"}},
	} {
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data}, c.args...)
		errOut, code := startupFailure(t, nil, args...)
		if code != 2 {
			t.Errorf("%v: exit %d\n%s", c.args, code, errOut)
		}
		for _, n := range c.names {
			if !strings.Contains(errOut, n) {
				t.Errorf("%v: the error does not name %q:\n%s", c.args, n, errOut)
			}
		}
		if strings.Contains(errOut, "PRIVATE KEY") {
			t.Errorf("%v: the error shows the key:\n%s", c.args, errOut)
		}
	}
}
