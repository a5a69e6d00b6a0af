package client

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// ErrNoCACertificates is returned by LoadCAFile for a file without a PEM
// certificate.
var ErrNoCACertificates = errors.New("client: no PEM certificate")

// Option configures a Client.
type Option func(*options)

type options struct {
	roots *x509.CertPool
}

// WithRootCAs makes the client trust the certificate authorities of pool
// (a private CA) for an https daemon, instead of the system's.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(o *options) { o.roots = pool }
}

// LoadCAFile reads the PEM certificates of path into a pool, for
// WithRootCAs. The error names the file.
func LoadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("client: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("client: CA file %s: %w", path, ErrNoCACertificates)
	}
	return pool, nil
}

// tlsHint says what to do about a certificate the client does not trust.
func tlsHint(err error) string {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return " (is the daemon's certificate from a private CA? pass it with --ca-file)"
	}
	var hn x509.HostnameError
	if errors.As(err, &hn) {
		return " (use the name or address the daemon's certificate is issued for)"
	}
	return ""
}
