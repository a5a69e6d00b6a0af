package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/dletter/dletter/sinks"
)

// ReplyError is an SMTP server's refusal of a command. A 4xx reply is
// transient (the server asks to try later: greylisting, a full mailbox, a
// rate limit), a 5xx reply terminal. It also unwraps to a *textproto.Error
// with the same code, and to the mail library's error.
type ReplyError struct {
	// Code is the reply code, such as 450 or 550.
	Code int
	// EnhancedCode is the RFC 3463 status, such as "5.1.1", when the
	// server sends one.
	EnhancedCode string
	// Err is the library's error, which names the command and holds the
	// server's text.
	Err error
}

// Error returns the library's description of the refusal.
func (e *ReplyError) Error() string { return e.Err.Error() }

// Unwrap gives the library's error and a *textproto.Error with the code.
func (e *ReplyError) Unwrap() []error {
	return []error{e.Err, &textproto.Error{Code: e.Code, Msg: e.Err.Error()}}
}

// Transient reports whether the reply was 4xx.
func (e *ReplyError) Transient() bool { return e.Code >= 400 && e.Code < 500 }

// classify makes err, from a send with txCtx (derived from the caller's
// ctx with timeout), say whether a retry may help.
func classify(ctx, txCtx context.Context, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		// The caller gave up: say so, whatever the connection reported.
		return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	if txCtx.Err() != nil {
		return sinks.Transient(fmt.Errorf("no answer within %s: %w", timeout, err))
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 400 && code < 600 {
			return &ReplyError{Code: code, EnhancedCode: se.EnhancedStatusCode(), Err: err}
		}
		switch se.Reason {
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			return sinks.Terminal(err)
		}
		// The connection failed mid-transaction.
		return sinks.Transient(err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The server hung up, as an overloaded one does.
		return sinks.Transient(err)
	}
	// Dial, greeting, STARTTLS and AUTH failures: network errors and 4xx
	// replies are transient; TLS certificate failures, 5xx replies and a
	// missing STARTTLS or AUTH mechanism are terminal (sinks.IsTransient).
	return err
}
