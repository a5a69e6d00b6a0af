package redistest

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// AddrEnv is the environment variable through which a test binary's
// examples find the Redis server RunWithServer started for them.
const AddrEnv = "REDIS_ADDR"

// RunWithServer runs a test binary (m.Run) with a redis-server of its own,
// for the examples that need one: examples have no testing.TB to start a
// server, so they connect to the address in AddrEnv, as an application
// configured by its environment would. The server stops before
// RunWithServer returns m.Run's exit code.
//
// Without redis-server the examples named by skip (a -test.skip pattern)
// are skipped with a message saying so, except when the environment
// variable CI is set: there the run fails, as the tests that need Redis do.
func RunWithServer(m *testing.M, skip string) int {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redistest: redis-server not found on PATH; install the Debian package redis-server (make test-deps does)"
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, msg+" (CI is set: the Redis examples must run)")
			return 1
		}
		fmt.Fprintln(os.Stderr, msg+": skipping "+skip)
		flag.Parse()
		if prev := flag.Lookup("test.skip").Value.String(); prev != "" {
			skip = prev + "|" + skip
		}
		if err := flag.Set("test.skip", skip); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "redistest-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := launchIn(bin, dir, config{}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		return 1
	}
	defer s.Stop()
	if err := os.Setenv(AddrEnv, s.Addr); err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		return 1
	}
	return m.Run()
}
