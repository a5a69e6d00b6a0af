package sinks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
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
//   - context.Canceled and context.DeadlineExceeded: false (the caller gave up).
//   - the outermost error in the chain with a Transient() bool method (see
//     Transient, Terminal and StatusError): its answer.
//   - an SMTP reply (*textproto.Error): 4xx true, 5xx false.
//   - a TLS certificate or handshake failure: false, even inside *url.Error.
//   - a malformed URL (*url.Error without a network cause): false.
//   - a net.Error that timed out: true.
//   - ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, ECONNABORTED, EHOSTUNREACH,
//     ENETUNREACH: true; any other *net.OpError (a dial or read that failed): true.
//   - anything else: false.
//
// The original API also matched substrings of messages carrying a
// "sink unavailable" code; that misreads messages, so it is not done here:
// a sink that knows better returns Transient(err) or a *StatusError.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
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

var transientErrnos = []error{
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ETIMEDOUT,
	syscall.ECONNABORTED, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
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
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verification) ||
		errors.As(err, &record) || errors.As(err, &alert)
}
