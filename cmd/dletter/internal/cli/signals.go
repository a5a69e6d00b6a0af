package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// shutdownSignals are the signals that stop the daemon.
var shutdownSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

// shutdownContext returns a context that the first SIGINT or SIGTERM
// cancels (the graceful shutdown), and a stop function that releases the
// signals. A second signal ends the process at once, by that signal: what
// was accepted is kept (the queue and the DLQ are durable), the sends in
// flight are cut short and sent again after a restart. Both signals are
// caught by one buffered channel, so a second one sent right after the
// first is never lost.
func shutdownContext(parent context.Context, log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, shutdownSignals...)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			log.Warn("second signal: ending at once; the sends in flight stay queued for the next start", "signal", s.String())
			signal.Reset(shutdownSignals...)
			if sig, ok := s.(syscall.Signal); ok && syscall.Kill(os.Getpid(), sig) == nil {
				return
			}
			os.Exit(ExitError)
		case <-done:
		}
	})
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
		cancel()
	}
}
