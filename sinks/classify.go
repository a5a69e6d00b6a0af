package sinks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/textproto"
	"syscall"
)

// transientHinter is implemented by errors that know whether a retry may help.
type transientHinter interface{ Transient() bool }

type classified struct {
	err       error
	transient bool
}

func (c *classified) Error() string   { return c.err.Error() }
func (c *classified) Unwrap() error   { return c.err }
func (c *classified) Transient() bool { return c.transient }

// Transient marks err as worth retrying, whatever IsTransient would make of
// it otherwise. Transient(nil) is nil. The result unwraps to err.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, transient: true}
}

// Terminal marks err as not worth retrying: a Retrier dead-letters the message
// at once. Terminal(nil) is nil. The result unwraps to err.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, transient: false}
}

// IsTransient reports whether err looks like a "try again" failure. It
// decides on structured facts, never on the text of a message:
//
//   - nil: false.
//   - context.Canceled, or context.DeadlineExceeded itself in the chain: false
//     (the caller gave up). An I/O or HTTP client timeout that merely matches
//     context.DeadlineExceeded through its Is method (a dial timeout, an
//     http.Client Timeout) is a network timeout and is transient.
//   - the outermost error in the chain with a Transient() bool method (see
//     Transient, Terminal and StatusError): its answer.
//   - an SMTP reply (*textproto.Error): 4xx true, 5xx false.
//   - a TLS certificate or handshake failure, or a TLS alert from the peer:
//     false, even inside *url.Error.
//   - a DNS answer that the name does not exist, or a malformed address
//     (*net.AddrError, such as an invalid port): false.
//   - a net.Error that timed out: true.
//   - ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, ECONNABORTED, EHOSTUNREACH,
//     ENETUNREACH, and a connection cut short (io.EOF, io.ErrUnexpectedEOF):
//     true; any other *net.OpError (a dial or read that failed): true.
//   - anything else, a malformed URL among them: false.
//
// The original API also matched substrings of messages carrying a
// "sink unavailable" code; that misreads messages, so it is not done here:
// a sink that knows better returns Transient(err) or a *StatusError.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || chainHas(err, context.DeadlineExceeded) {
		return false
	}
	var hint transientHinter
	if errors.As(err, &hint) {
		return hint.Transient()
	}
	var smtp *textproto.Error
	if errors.As(err, &smtp) {
		return smtp.Code >= 400 && smtp.Code < 500
	}
	if isTLSFailure(err) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false
	}
	var addr *net.AddrError
	if errors.As(err, &addr) {
		return false // a malformed address, such as an invalid port
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, errno := range transientErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	// A *url.Error with none of the causes above is a malformed URL, an
	// unsupported scheme, a redirect refused: retrying cannot help.
	return false
}

// chainHas reports whether target itself (by identity, not through an Is
// method) is in err's chain.
func chainHas(err, target error) bool {
	for err != nil {
		if err == target {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if chainHas(e, target) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

var transientErrnos = []error{
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ETIMEDOUT,
	syscall.ECONNABORTED, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
	io.EOF, io.ErrUnexpectedEOF,
}

func isTLSFailure(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		record           tls.RecordHeaderError
		alert            tls.AlertError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verification) ||
		errors.As(err, &record) || errors.As(err, &alert) {
		return true
	}
	// The peer refused the handshake ("remote error: tls: bad certificate").
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}
