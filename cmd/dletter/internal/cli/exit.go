package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dletter/dletter/cmd/dletter/internal/client"
	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// Exit codes of the dletter command.
const (
	ExitOK       = 0 // success
	ExitError    = 1 // the DLQ, the daemon or a file could not be used
	ExitUsage    = 2 // bad flags, arguments or configuration
	ExitNotFound = 3 // no such item, sink or redrive
	ExitFailed   = 4 // a replay, redrive or send did not deliver everything
	ExitRefused  = 5 // read-only mode, or authentication failed
	ExitBusy     = 6 // someone else is replaying, redriving or discarding the item
)

// exitError carries an explicit exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errSilent marks an error whose message was already printed.
var errSilent = errors.New("")

func usageError(err error) error { return &exitError{code: ExitUsage, err: err} }

func usageErrorf(format string, args ...any) error { return usageError(fmt.Errorf(format, args...)) }

func exitCodeOf(err error) int {
	var ee *exitError
	var fe *relay.FieldError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, config.ErrInvalid), errors.Is(err, sinks.ErrInvalidConfig),
		errors.Is(err, sinks.ErrInvalidArgument), errors.As(err, &fe):
		return ExitUsage
	case errors.Is(err, sinks.ErrNotFound), errors.Is(err, relay.ErrUnknownSink):
		return ExitNotFound
	case errors.Is(err, relay.ErrReadOnly), errors.Is(err, client.ErrUnauthorized):
		return ExitRefused
	case errors.Is(err, sinks.ErrBusy):
		return ExitBusy
	case strings.HasPrefix(err.Error(), "unknown command "), strings.HasPrefix(err.Error(), "unknown flag"):
		return ExitUsage
	}
	return ExitError
}

// args validators that report usage errors.
func exactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			if n == 0 {
				return usageErrorf("%s takes no arguments (got %q)", cmd.CommandPath(), args)
			}
			return usageErrorf("%s wants %s", cmd.CommandPath(), strings.Join(names, " "))
		}
		return nil
	}
}
