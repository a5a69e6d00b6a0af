package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// The load benchmarks drive the real daemon, a child process, with an open
// loop of POSTs at a fixed rate, against a real receiver on loopback. Each
// iteration is one run of loadSeconds at loadRate; DLETTER_LOAD_RATE and
// DLETTER_LOAD_SECONDS change them (the defaults are the targets: 4,000
// messages a second for 10 s).
func loadParams() (rate int, dur time.Duration) {
	rate, dur = 4000, 10*time.Second
	if v, err := strconv.Atoi(os.Getenv("DLETTER_LOAD_RATE")); err == nil && v > 0 {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("DLETTER_LOAD_SECONDS")); err == nil && v > 0 {
		dur = time.Duration(v) * time.Second
	}
	return rate, dur
}

// loadResult is what one open-loop run measured.
type loadResult struct {
	sent, failed int
	latencies    []time.Duration // from each request's scheduled time
	took         time.Duration
}

func (r *loadResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	slices.Sort(r.latencies)
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

// openLoop calls do rate times a second for dur, each call on its own
// goroutine at its scheduled time, whatever the earlier calls are doing
// (so that a slow server cannot slow the load down and hide its latency).
func openLoop(rate int, dur time.Duration, do func() error) *loadResult {
	var (
		mu  sync.Mutex
		res = &loadResult{}
		wg  sync.WaitGroup
	)
	n := int(float64(rate) * dur.Seconds())
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			err := do()
			lat := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			res.sent++
			if err != nil {
				res.failed++
				return
			}
			res.latencies = append(res.latencies, lat)
		})
	}
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// poster POSTs body to url with a client that keeps enough connections.
func poster(url, body string, want int) func() error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}, Timeout: 30 * time.Second}
	return func() error {
		resp, err := client.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// peakRSS returns the peak resident set of process pid, in MB.
func peakRSS(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(data) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(rest)), "kB")))
			return float64(kb) / 1024
		}
	}
	return -1
}

func reportLoad(b *testing.B, r *loadResult) {
	b.ReportMetric(float64(r.quantile(0.50).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(r.quantile(0.99).Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(r.sent)/r.took.Seconds(), "sent/s")
	b.ReportMetric(float64(r.failed), "failed")
	if r.failed > 0 {
		b.Errorf("%d of %d requests failed", r.failed, r.sent)
	}
}

// BenchmarkLoadSync: synchronous POSTs through the daemon to a webhook sink
// whose receiver answers at once, beside the same load POSTed straight to
// the receiver (the limit). Targets: p99 under 20 ms, the daemon's peak RSS
// under 150 MB, new connections to the receiver at most the sink's
// concurrency (16).
func BenchmarkLoadSync(b *testing.B) {
	rate, dur := loadParams()
	b.Run("daemon", func(b *testing.B) {
		hook := testenv.NewReceiver(b)
		d := startDaemon(b, "--config", writeConfig(b, b.TempDir(), hook.URL, ""))
		do := poster(d.URL+"/v1/sinks/orders/messages", `{"subject":"load","body":"{}"}`, http.StatusOK)
		for b.Loop() {
			reportLoad(b, openLoop(rate, dur, do))
		}
		b.ReportMetric(peakRSS(d.cmd.Process.Pid), "peak_rss_MB")
		b.ReportMetric(float64(hook.Connections()), "receiver_conns")
	})
	b.Run("limit=receiver-direct", func(b *testing.B) {
		hook := testenv.NewReceiver(b)
		do := poster(hook.URL+"/orders-hook", `{"subject":"load","body":"{}"}`, http.StatusNoContent)
		for b.Loop() {
			reportLoad(b, openLoop(rate, dur, do))
		}
		b.ReportMetric(float64(hook.Connections()), "receiver_conns")
	})
}

// BenchmarkLoadAsync: POSTs with "async": true at the load rate; delivered/s
// counts what the receiver got while the load ran, and drain_s how long
// the rest took after it: delivery keeps up when delivered/s is close to
// accepted/s and drain_s near 0.
func BenchmarkLoadAsync(b *testing.B) {
	rate, dur := loadParams()
	hook := testenv.NewReceiver(b)
	d := startDaemon(b, "--config", writeConfig(b, b.TempDir(), hook.URL, ""))
	do := poster(d.URL+"/v1/sinks/orders/messages", `{"subject":"load","body":"{}","async":true}`, http.StatusAccepted)
	for b.Loop() {
		before := hook.Total()
		var during atomic.Int64
		r := openLoop(rate, dur, do)
		during.Store(int64(hook.Total() - before))
		accepted := r.sent - r.failed
		drainStart := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		for hook.Total()-before < accepted && ctx.Err() == nil {
			select {
			case <-hook.Accepted():
			case <-ctx.Done():
			}
		}
		cancel()
		if got := hook.Total() - before; got < accepted {
			b.Errorf("%d of %d accepted messages delivered two minutes after the load", got, accepted)
		}
		reportLoad(b, r)
		b.ReportMetric(float64(accepted)/r.took.Seconds(), "accepted/s")
		b.ReportMetric(float64(during.Load())/r.took.Seconds(), "delivered/s")
		b.ReportMetric(time.Since(drainStart).Seconds(), "drain_s")
	}
	b.ReportMetric(peakRSS(d.cmd.Process.Pid), "peak_rss_MB")
}

// BenchmarkDaemonAsyncBurst: 200 messages POSTed with "async": true to a
// webhook that answers in 50 ms, through the daemon with the default
// configuration, timed from the first POST to the last delivery; alone,
// and while 20 messages to a second sink that hangs 3 s per attempt are
// being retried (the target: within 1.5x of alone, and alone within 1 s).
func BenchmarkDaemonAsyncBurst(b *testing.B) {
	for _, beside := range []bool{false, true} {
		name := "alone"
		if beside {
			name = "beside-hanging-sink"
		}
		b.Run(name, func(b *testing.B) {
			good, slow := testenv.NewReceiver(b), testenv.NewReceiver(b)
			good.Delay.Store(int64(50 * time.Millisecond))
			slow.Delay.Store(int64(3 * time.Second))
			slow.Fail.Store(true)
			cfg := writeConfig(b, b.TempDir(), good.URL, fmt.Sprintf(
				"  slow:\n    kind: webhook\n    url: %s/slow\n", slow.URL))
			d := startDaemon(b, "--config", cfg)
			if beside {
				for i := range 20 {
					body := fmt.Sprintf(`{"subject":"slow %d","body":"{}","async":true}`, i)
					if code := d.api("POST", "/v1/sinks/slow/messages", body, nil); code != http.StatusAccepted {
						b.Fatalf("post to the slow sink: %d", code)
					}
				}
				for slow.InFlight() < 16 {
					time.Sleep(time.Millisecond)
				}
			}
			do := poster(d.URL+"/v1/sinks/orders/messages", `{"subject":"burst","body":"{}","async":true}`, http.StatusAccepted)
			for b.Loop() {
				start, before := time.Now(), good.Total()
				for range 200 {
					if err := do(); err != nil {
						b.Fatal(err)
					}
				}
				for good.Total()-before < 200 {
					select {
					case <-good.Accepted():
					case <-time.After(time.Minute):
						b.Fatalf("%d of 200 delivered after a minute", good.Total()-before)
					}
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/200msgs")
			}
		})
	}
}
