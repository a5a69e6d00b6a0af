package sinks

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestErrorMatchesItsCodeSentinel(t *testing.T) {
	sentinels := map[Code]error{
		CodeInternal: ErrInternal, CodeSinkUnavailable: ErrSinkUnavailable,
		CodeInvalidConfig: ErrInvalidConfig, CodeInvalidArgument: ErrInvalidArgument,
		CodeDLQOverflow: ErrDLQOverflow, CodeNotFound: ErrNotFound, CodeClosed: ErrClosed, CodeBusy: ErrBusy,
	}
	for code, sentinel := range sentinels {
		err := fmt.Errorf("outer: %w", Errorf(code, "Op", "something about %q", "x"))
		for other, s := range sentinels {
			if got := errors.Is(err, s); got != (other == code) {
				t.Errorf("errors.Is(%v, sentinel %v) = %v", err, other, got)
			}
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != code || e.Op != "Op" {
			t.Errorf("errors.As gave %+v", e)
		}
		if !errors.Is(sentinel, sentinel) {
			t.Errorf("sentinel %v does not match itself", code)
		}
	}
	// A non-sentinel *Error never stands for a whole code.
	if errors.Is(ErrNotFound, &Error{Code: CodeNotFound, Op: "x"}) {
		t.Error("a specific error matched as a target")
	}
}

func TestErrorfWrapsCause(t *testing.T) {
	err := Errorf(CodeNotFound, "FileDLQ.Get", "item %q: %w", "42", fs.ErrNotExist)
	if got, want := err.Error(), `sinks: FileDLQ.Get: item "42": file does not exist`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrNotFound) {
		t.Fatal("cause or code not matchable")
	}

	// %w not at the end: the text is kept once, the cause still matches.
	err = Errorf(CodeInternal, "Op", "%w (while closing)", fs.ErrClosed)
	if got, want := err.Error(), "sinks: Op: file already closed (while closing)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, fs.ErrClosed) {
		t.Fatal("cause lost")
	}

	// Several %w: every cause matches.
	a, b := errors.New("a"), errors.New("b")
	err = Errorf(CodeSinkUnavailable, "Send", "%w; then %w", a, b)
	if !errors.Is(err, a) || !errors.Is(err, b) || !errors.Is(err, ErrSinkUnavailable) {
		t.Fatalf("causes lost: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: CodeClosed}, "sinks: closed"},
		{&Error{Code: CodeNotFound, Op: "Get"}, "sinks: Get: not found"},
		{&Error{Code: CodeNotFound, Op: "Get", Msg: "no item 7"}, "sinks: Get: no item 7"},
		{&Error{Code: CodeInternal, Err: errors.New("disk")}, "sinks: disk"},
		{&Error{Code: CodeInternal, Op: "Push", Msg: "write", Err: errors.New("disk")}, "sinks: Push: write: disk"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	if Code(99).String() != "code(99)" || CodeDLQOverflow.String() != "dlq overflow" {
		t.Error("Code.String")
	}
}

func TestDeadLetterError(t *testing.T) {
	cause := &StatusError{StatusCode: 500}
	var err error = &DeadLetterError{ID: "7", Sink: "hook", Attempts: 5, Err: cause}
	err = fmt.Errorf("publish: %w", err)
	var dl *DeadLetterError
	if !errors.Is(err, ErrDeadLettered) || !errors.As(err, &dl) || dl.ID != "7" {
		t.Fatalf("not matchable: %v", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 500 {
		t.Fatal("cause not reachable")
	}
}
