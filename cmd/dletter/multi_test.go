package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
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
func multiConfig(t testing.TB, hookURL string, addrs []string, extra string) string {
	t.Helper()
	return writeConfig(t, t.TempDir(), hookURL, fmt.Sprintf(
		"dlq:\n  backend: redis\n  addrs: [%s]\n  prefix: multi\nqueue:\n  lease: 2s\n%s", strings.Join(addrs, ", "), extra))
}

// postAsyncTo posts n async messages, round robin over ds, from one
// goroutine per daemon, and returns the delivery ids accepted. Before the
// message at index killAt it calls kill, which kills ds[0]; a POST that
// fails (the daemon died under it) is not accepted, and the next ones go to
// the others.
func postAsyncTo(t testing.TB, ds []*daemon, n int, killAt int, kill func()) map[string]bool {
	t.Helper()
	var (
		mu       sync.Mutex
		accepted = make(map[string]bool, n)
		next     int
		killed   bool
	)
	take := func() (int, bool, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next == killAt && !killed {
			killed = true
			kill()
		}
		i := next
		next++
		return i, i < n, killed
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for w := range ds {
		wg.Go(func() {
			for {
				i, ok, dead := take()
				if !ok {
					return
				}
				k := (i + w) % len(ds)
				if dead && k == 0 {
					k = 1 + i%(len(ds)-1)
				}
				body := fmt.Sprintf(`{"subject":"multi %d","body":"{}","async":true}`, i)
				resp, err := client.Post(ds[k].URL+"/v1/sinks/orders/messages", "application/json", strings.NewReader(body))
				if err != nil {
					continue // the daemon died under the request: not accepted
				}
				var res struct {
					Status     string
					DeliveryID string `json:"delivery_id"`
				}
				err = json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if err == nil && resp.StatusCode == http.StatusAccepted && res.Status == "queued" {
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
	testenv.WaitWithin(t, "every accepted message", 90*time.Second, func() bool {
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
	testenv.WaitWithin(t, "every accepted message", 90*time.Second, func() bool {
		got := hook.Delivered()
		for id := range accepted {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
}

// BenchmarkScaleDaemons: 3,000 async messages to a webhook that answers in
// 50 ms, through 1 and through 3 daemons sharing one Redis, each with
// `concurrency: 8`: the sink's latency bounds each daemon (8 / 50 ms = 160
// messages a second), so 3 daemons should deliver about 3 times as many.
// DLETTER_SCALE_MESSAGES changes the count.
func BenchmarkScaleDaemons(b *testing.B) {
	n := 3000
	if v, err := strconv.Atoi(os.Getenv("DLETTER_SCALE_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	for _, daemons := range []int{1, 3} {
		b.Run(fmt.Sprintf("daemons=%d", daemons), func(b *testing.B) {
			rd := redistest.Start(b)
			hook := testenv.NewReceiver(b)
			hook.Delay.Store(int64(50 * time.Millisecond))
			var ds []*daemon
			for range daemons {
				cfg := writeConfig(b, b.TempDir(), hook.URL, fmt.Sprintf(
					"dlq: {backend: redis, addrs: [%s], prefix: scale}\ndelivery: {concurrency: 8}", rd.Addr))
				ds = append(ds, startDaemon(b, "--config", cfg))
			}
			for b.Loop() {
				start, before := time.Now(), hook.Total()
				accepted := postAsyncTo(b, ds, n, -1, nil)
				for hook.Total()-before < len(accepted) {
					select {
					case <-hook.Accepted():
					case <-time.After(2 * time.Minute):
						b.Fatalf("%d of %d delivered", hook.Total()-before, len(accepted))
					}
				}
				b.ReportMetric(float64(len(accepted))/time.Since(start).Seconds(), "msgs/s")
			}
		})
	}
}

// TestMultiDaemonSameRedriveDeliversOnce: the same redrive of 500 items is
// started on two daemons sharing a Redis DLQ at once; item leases make
// each item go out exactly once.
func TestMultiDaemonSameRedriveDeliversOnce(t *testing.T) {
	rd := redistest.Start(t)
	hook := testenv.NewReceiver(t)
	hook.Fail.Store(true)
	var ds []*daemon
	for range 2 {
		ds = append(ds, startDaemon(t, "--config", multiConfig(t, hook.URL, []string{rd.Addr},
			"retry: {max_attempts: 1}\ndelivery: {circuit: {failures: 0}}")))
	}
	const n = 500
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				var res struct{ Status string }
				body := fmt.Sprintf(`{"subject":"redrive %d","body":"{}"}`, i)
				if code := ds[w].api("POST", "/v1/sinks/orders/messages", body, &res); code != http.StatusAccepted || res.Status != "dead_lettered" {
					t.Errorf("post %d: %d %+v", i, code, res)
					return
				}
			}
		})
	}
	wg.Wait()
	hook.Fail.Store(false)
	hook.Delay.Store(int64(2 * time.Millisecond))

	ids := make([]string, 2)
	for w, d := range ds {
		wg.Go(func() {
			var job struct{ ID string }
			if code := d.api("POST", "/v1/dlq/redrive", `{"sink":"orders","concurrency":8}`, &job); code != http.StatusAccepted {
				t.Errorf("redrive on daemon %d: %d", w, code)
			}
			ids[w] = job.ID
		})
	}
	wg.Wait()
	for w, d := range ds {
		testenv.WaitWithin(t, "the redrive to end", 60*time.Second, func() bool {
			var job struct{ State string }
			d.api("GET", "/v1/dlq/redrives/"+ids[w], "", &job)
			return job.State != "" && job.State != "running"
		})
	}
	testenv.WaitFor(t, "an empty DLQ", func() bool {
		var page itemsPage
		ds[0].api("GET", "/v1/dlq/items?sink=orders", "", &page)
		return len(page.Items) == 0
	})
	got := hook.Delivered()
	twice := 0
	for _, c := range got {
		if c > 1 {
			twice++
		}
	}
	if len(got) != n || twice > 0 {
		t.Errorf("the receiver got %d distinct items (%d more than once), want each of %d exactly once", len(got), twice, n)
	}
}

// TestMultiDaemonRateHoldsAcrossDaemons: `rate: 50` on a sink shared by
// three daemons on one Redis: the sink never gets more than 50 + burst
// requests in any second, counted as the receiver gets them.
func TestMultiDaemonRateHoldsAcrossDaemons(t *testing.T) {
	rd := redistest.Start(t)
	hook := testenv.NewReceiver(t)
	var ds []*daemon
	for range 3 {
		ds = append(ds, startDaemon(t, "--config", multiConfig(t, hook.URL, []string{rd.Addr},
			"delivery: {rate: 50, burst: 10}")))
	}
	const n = 300
	accepted := postAsyncTo(t, ds, n, -1, nil)
	testenv.WaitWithin(t, "every accepted message", 60*time.Second, func() bool { return len(hook.Delivered()) >= len(accepted) })
	most := hook.MostInAnyWindow(time.Second)
	t.Logf("%d messages through 3 daemons at rate 50 (burst 10): at most %d in one second", len(accepted), most)
	// The receiver counts arrivals, which a loaded machine can bunch up by a
	// few; the limiter paces the sends on the Redis server's clock.
	if most > 50+10+5 {
		t.Errorf("the sink got %d requests within one second, want about 50 + 10 at most", most)
	}
}
