package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
)

// multiConfig writes the configuration of one of several daemons sharing a
// Redis (Cluster): its own data directory, the shared DLQ and queue.
func multiConfig(t *testing.T, hookURL string, addrs []string, extra string) string {
	t.Helper()
	return writeConfig(t, t.TempDir(), hookURL, fmt.Sprintf(
		"dlq:\n  backend: redis\n  addrs: [%s]\n  prefix: multi\nqueue:\n  lease: 2s\n%s", strings.Join(addrs, ", "), extra))
}

// postAsyncTo posts n async messages, round robin over ds, from one
// goroutine per daemon, and returns the delivery ids accepted. Before the
// message at index killAt it calls kill (once).
func postAsyncTo(t *testing.T, ds []*daemon, n int, killAt int, kill func()) map[string]bool {
	t.Helper()
	var (
		mu       sync.Mutex
		accepted = make(map[string]bool, n)
		next     int
		killed   bool
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next == killAt && !killed {
			killed = true
			kill()
		}
		i := next
		next++
		return i, i < n
	}
	var wg sync.WaitGroup
	for w := range ds {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				d := ds[(i+w)%len(ds)]
				if d.cmd.ProcessState != nil { // killed: another takes the message
					d = ds[(i+w+1)%len(ds)]
				}
				var res struct {
					Status     string
					DeliveryID string `json:"delivery_id"`
				}
				body := fmt.Sprintf(`{"subject":"multi %d","body":"{}","async":true}`, i)
				if code := d.api("POST", "/v1/sinks/orders/messages", body, &res); code == http.StatusAccepted && res.Status == "queued" {
					mu.Lock()
					accepted[res.DeliveryID] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return accepted
}

// TestMultiDaemonSharedQueueSurvivesAKill: three daemons share a 3-master
// Redis Cluster; 3,000 async messages are spread over them and one daemon
// is SIGKILLed mid-way and not restarted: the other two deliver every
// accepted message, the killed one's in flight at most twice.
func TestMultiDaemonSharedQueueSurvivesAKill(t *testing.T) {
	cluster := redistest.StartCluster(t, 3, redistest.WithPersistence())
	hook := testenv.NewReceiver(t)
	hook.Delay.Store(int64(20 * time.Millisecond))
	var ds []*daemon
	for range 3 {
		ds = append(ds, startDaemon(t, "--config", multiConfig(t, hook.URL, cluster.Addrs, "")))
	}
	const n = 3000
	accepted := postAsyncTo(t, ds, n, n/2, func() { ds[0].kill() })
	if len(accepted) < n-10 {
		t.Fatalf("%d of %d messages accepted", len(accepted), n)
	}
	waitFor(t, "every accepted message", 90*time.Second, func() bool {
		got := hook.Delivered()
		for id := range accepted {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	dups := 0
	for _, c := range hook.Delivered() {
		dups += c - 1
	}
	t.Logf("%d messages accepted, all delivered; %d delivered twice", len(accepted), dups)
	if dups > sinks.DefaultConcurrency {
		t.Errorf("%d duplicates, want at most the killed daemon's sends in flight (%d)", dups, sinks.DefaultConcurrency)
	}
}

// TestMultiDaemonRedisKilledMidLoad: Redis is SIGKILLed while two daemons
// accept async messages, and restarted: what they accepted meanwhile waits
// on their disks and moves into the shared queue once Redis is back;
// nothing accepted is lost.
func TestMultiDaemonRedisKilledMidLoad(t *testing.T) {
	rd := redistest.Start(t, redistest.WithPersistence())
	hook := testenv.NewReceiver(t)
	var ds []*daemon
	for range 2 {
		ds = append(ds, startDaemon(t, "--config", multiConfig(t, hook.URL, []string{rd.Addr}, "")))
	}
	const n = 600
	accepted := postAsyncTo(t, ds, n, n/3, func() { rd.Kill() })
	rd.Restart()
	if len(accepted) < n {
		t.Errorf("%d of %d messages accepted while Redis was down", len(accepted), n)
	}
	waitFor(t, "every accepted message", 90*time.Second, func() bool {
		got := hook.Delivered()
		for id := range accepted {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
}
