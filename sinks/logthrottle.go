package sinks

import (
	"sync"
	"time"
)

// troubleLogEvery is how often a Dispatcher repeats a log line about
// trouble that fails every send while it lasts (a DLQ that refuses
// pushes, a shared rate limiter that cannot be reached).
const troubleLogEvery = 10 * time.Second

// logThrottle lets one log line through per interval and counts those it
// held back, so that an outage that fails thousands of sends a second is
// logged, with how often it struck, instead of flooding the log. The zero
// value lets every line through.
type logThrottle struct {
	every time.Duration

	mu   sync.Mutex
	next time.Time // before it, lines are held back
	held int
}

// allow reports whether to log a line now and, when it does, how many it
// held back since the last one it let through.
func (l *logThrottle) allow() (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.next) {
		l.held++
		return false, 0
	}
	held, l.held, l.next = l.held, 0, now.Add(l.every)
	return true, held
}
