package sinks

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/dletter/dletter/internal/redistest"
)

// TestMain gives the Redis examples a server of their own (REDIS_ADDR) and
// fails the run when a test leaves a goroutine behind.
func TestMain(m *testing.M) {
	code := redistest.RunWithServer(m, "^Example(NewRedisDLQ|NewRedisQueue)$")
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
