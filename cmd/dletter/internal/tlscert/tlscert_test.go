package tlscert

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// TestLoadErrorsNameTheFile: a key pair that cannot be loaded is an error
// naming the file at fault, never its content.
func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t)
	cert, key := ca.WriteFiles(t, dir, 7)
	other, _ := ca.Issue(t, 8)
	keyPEM, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	keyBody := strings.Split(string(keyPEM), "\n")[1] // a line of base64
	otherCert := filepath.Join(dir, "other-cert.pem")
	testenv.WriteFile(t, otherCert, other)
	garbage := filepath.Join(dir, "garbage.pem")
	testenv.WriteFile(t, garbage, []byte("not PEM at all"))
	badDER := filepath.Join(dir, "bad-der.pem")
	testenv.WriteFile(t, badDER, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	missing := filepath.Join(dir, "missing.pem")
	for _, c := range []struct {
		cert, key, wantKey, wantFile string
		is                           error
	}{
		{missing, key, "cert_file", missing, fs.ErrNotExist},
		{cert, missing, "key_file", missing, fs.ErrNotExist},
		{garbage, key, "cert_file", garbage, ErrNoCertificate},
		{key, key, "cert_file", key, ErrNoCertificate},
		{badDER, key, "cert_file", badDER, nil},
		{cert, garbage, "key_file", garbage, nil},
		{otherCert, key, "key_file", key, nil}, // the key of another certificate
	} {
		_, err := Load(c.cert, c.key)
		var le *Error
		if !errors.As(err, &le) || le.Key != c.wantKey || le.File != c.wantFile || !strings.Contains(err.Error(), c.wantFile) {
			t.Errorf("Load(%s, %s): %v, want an error naming %s %s", c.cert, c.key, err, c.wantKey, c.wantFile)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("Load(%s, %s): %v does not match %v", c.cert, c.key, err, c.is)
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), keyBody) {
			t.Errorf("the error shows key material: %v", err)
		}
	}
}

// TestReload: Reload serves the files' new pair, and keeps the current one
// when the new files do not make a pair.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t)
	cert, key := ca.WriteFiles(t, dir, 1)
	r, err := Load(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		t.Helper()
		c, err := r.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil || c.Leaf == nil || c.Leaf != r.Leaf() {
			t.Fatalf("GetCertificate: %v %v", c, err)
		}
		return c.Leaf.SerialNumber.Int64()
	}
	if s := serial(); s != 1 {
		t.Fatalf("serial %d", s)
	}
	ca.WriteFiles(t, dir, 2)
	if err := r.Reload(); err != nil || serial() != 2 {
		t.Fatalf("reload: %v, serial %d", err, serial())
	}
	next, _ := ca.Issue(t, 3)
	testenv.WriteFile(t, cert, next) // key.pem still holds the key of 2
	if err := r.Reload(); err == nil || serial() != 2 {
		t.Fatalf("reload of a mismatched pair: %v, serial %d", err, serial())
	}
	if cfg := r.Config(); cfg.MinVersion != tls.VersionTLS12 || cfg.GetCertificate == nil {
		t.Fatalf("config: min version %x", cfg.MinVersion)
	}
}
