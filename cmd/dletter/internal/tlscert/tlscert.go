// Package tlscert serves the daemon's TLS key pair from its PEM files and
// reloads it on demand (SIGHUP), so that a renewed certificate takes effect
// without a restart. A pair that fails to load leaves the current one in
// place.
package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// ErrNoCertificate is returned for a certificate file without a PEM
// CERTIFICATE block.
var ErrNoCertificate = errors.New("tlscert: no PEM certificate")

// Error is a key pair that cannot be loaded: which file, and why. It never
// holds key material.
type Error struct {
	Key  string // "cert_file" or "key_file": the file at fault
	File string
	Err  error
}

// Error formats as "tlscert: cert_file /etc/dletter/cert.pem: reason".
func (e *Error) Error() string { return fmt.Sprintf("tlscert: %s %s: %v", e.Key, e.File, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Reloader holds the current key pair. Its methods are safe for concurrent
// use: handshakes read the pair that Reload swaps in atomically.
type Reloader struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// Load reads the key pair from certFile (the certificate, then any
// intermediates) and keyFile.
func Load(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the files again and, if they hold a valid pair, serves it
// from the next handshake on. On error the current pair stays.
func (r *Reloader) Reload() error {
	pair, err := loadPair(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	r.cur.Store(pair)
	return nil
}

// Leaf is the certificate served now.
func (r *Reloader) Leaf() *x509.Certificate { return r.cur.Load().Leaf }

// GetCertificate returns the current pair, for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// Config is a server configuration serving the current pair with Go's
// defaults for TLS 1.2 and later: older versions are refused.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, &Error{Key: "cert_file", File: certFile, Err: err}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, &Error{Key: "key_file", File: keyFile, Err: err}
	}
	if err := checkCertificate(certPEM); err != nil {
		return nil, &Error{Key: "cert_file", File: certFile, Err: err}
	}
	// The certificate parses: what is left to fail is the key, or the key
	// not matching the certificate.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &Error{Key: "key_file", File: keyFile, Err: fmt.Errorf("does not hold the private key of %s: %w", certFile, err)}
	}
	return &pair, nil
}

// checkCertificate reports a file whose first PEM CERTIFICATE block is
// missing or does not parse.
func checkCertificate(data []byte) error {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return ErrNoCertificate
		}
		if b.Type == "CERTIFICATE" {
			_, err := x509.ParseCertificate(b.Bytes)
			return err
		}
	}
}
