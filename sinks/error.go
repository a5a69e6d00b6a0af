package sinks

import (
	"fmt"
	"strings"
)

// Code classifies an Error. The zero value is CodeInternal.
type Code int

// The codes of Error.
const (
	CodeInternal        Code = iota // a bug or an unexpected state
	CodeSinkUnavailable             // the sink's far end did not take the message
	CodeInvalidConfig               // a sink or DLQ configuration is wrong
	CodeInvalidArgument             // a caller passed a bad value
	CodeDLQOverflow                 // a bounded DLQ is full and refuses new items
	CodeNotFound                    // no item, sink or factory has that name
	CodeClosed                      // the DLQ or sink was closed
	CodeBusy                        // another holder has leased the DLQ item
)

var codeNames = [...]string{
	CodeInternal:        "internal",
	CodeSinkUnavailable: "sink unavailable",
	CodeInvalidConfig:   "invalid config",
	CodeInvalidArgument: "invalid argument",
	CodeDLQOverflow:     "dlq overflow",
	CodeNotFound:        "not found",
	CodeClosed:          "closed",
	CodeBusy:            "busy",
}

// String returns the code's name, such as "not found".
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// Error is the coded error of this package. It wraps its cause, so both
// errors.Is(err, ErrNotFound) (matching by code) and errors.Is(err, cause)
// work, and errors.As(err, &e) gives the fields.
type Error struct {
	Code Code
	// Op is the operation that failed, such as "FileDLQ.Replay".
	Op string
	// Msg says what was wrong, naming the field and the value where it can.
	Msg string
	// Err is the cause, if any.
	Err error
}

// Error formats the error as "sinks: op: msg: cause", leaving out empty parts.
func (e *Error) Error() string {
	s := "sinks: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	switch {
	case e.Msg != "":
		s += e.Msg
	case e.Err == nil:
		s += e.Code.String()
	}
	if e.Err != nil {
		if e.Msg != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is one of the code sentinels (ErrNotFound, ...)
// with the same code as e.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.isSentinel() && t.Code == e.Code
}

func (e *Error) isSentinel() bool { return e.Op == "" && e.Msg == "" && e.Err == nil }

// Errorf returns an *Error with code, op and a formatted message. A %w verb
// in format becomes the Error's cause (with several %w verbs, the formatted
// error that holds them all is the cause, so each still matches errors.Is).
func Errorf(code Code, op, format string, args ...any) error {
	wrapped := fmt.Errorf(format, args...)
	e := &Error{Code: code, Op: op, Msg: wrapped.Error()}
	switch u := wrapped.(type) {
	case interface{ Unwrap() error }:
		cause := u.Unwrap()
		// Keep the cause matchable without repeating its text.
		if msg, ok := strings.CutSuffix(e.Msg, ": "+cause.Error()); ok {
			e.Msg, e.Err = msg, cause
		} else {
			e.Msg, e.Err = "", wrapped
		}
	case interface{ Unwrap() []error }:
		e.Msg, e.Err = "", wrapped
	}
	return e
}

// Sentinels for errors.Is. Every *Error matches the sentinel of its code.
var (
	ErrInternal        error = &Error{Code: CodeInternal}
	ErrSinkUnavailable error = &Error{Code: CodeSinkUnavailable}
	ErrInvalidConfig   error = &Error{Code: CodeInvalidConfig}
	ErrInvalidArgument error = &Error{Code: CodeInvalidArgument}
	ErrDLQOverflow     error = &Error{Code: CodeDLQOverflow}
	ErrNotFound        error = &Error{Code: CodeNotFound}
	ErrClosed          error = &Error{Code: CodeClosed}
	// ErrBusy matches the error of a replay, redrive or discard of a DLQ
	// item that another holder has leased (see Leaser); its text names the
	// holder when the store knows it.
	ErrBusy error = &Error{Code: CodeBusy}
)
