package sinks

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// send makes one Send call of the Retrier's sink. A sink that panics does
// not take the process down with it (and, with the Dispatcher, into a
// crash loop on the same queued message at every restart): the panic
// becomes a terminal error naming where it began, so the message is
// dead-lettered, not lost, and can be redelivered once the sink is fixed.
func (r *Retrier) send(ctx context.Context, to Recipient, m Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Terminal(&panicError{value: v, at: panicSite()})
		}
	}()
	return r.Inner.Send(ctx, to, m)
}

// panicError is a panic recovered from a sink's Send.
type panicError struct {
	value any
	at    string // the function and file:line where the panic began
}

func (e *panicError) Error() string {
	if e.at == "" {
		return fmt.Sprintf("the sink panicked: %v", e.value)
	}
	return fmt.Sprintf("the sink panicked in %s: %v", e.at, e.value)
}

// Unwrap returns the panic's value when it is an error (such as a
// runtime.Error), so that errors.As finds it.
func (e *panicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// panicSite returns where the panic being recovered began, as
// "pkg.Func (file.go:12)": the first frame below runtime.gopanic outside
// the runtime (a nil dereference or an index out of range passes through
// runtime frames first). Called from a deferred function only.
func panicSite() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			return fmt.Sprintf("%s (%s:%d)", f.Function, filepath.Base(f.File), f.Line)
		}
		if !more {
			return ""
		}
	}
}
