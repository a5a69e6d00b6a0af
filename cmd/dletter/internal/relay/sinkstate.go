package relay

import (
	"time"

	"github.com/dletter/dletter/sinks"
)

// SinkDelivery is a sink's delivery state in a running daemon: its async
// backlog, its sends in flight, its circuit breaker and its limits (see
// sinks.SinkState).
type SinkDelivery struct {
	// Queued is the number of async messages waiting for the sink, those in
	// flight included; -1 when the queue cannot tell.
	Queued int64 `json:"queued"`
	// InFlight is the number of sends under way, synchronous ones included.
	InFlight int64 `json:"in_flight"`
	// Circuit is "closed", "open" or "half-open".
	Circuit string `json:"circuit"`
	// NextProbe is when an open circuit lets a probe send through.
	NextProbe time.Time `json:"next_probe,omitzero"`
	// ConsecutiveFailures counts the transient failures since the last
	// success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// RateLimitedWaits counts the sends that waited for the rate limit.
	RateLimitedWaits int64 `json:"rate_limited_waits"`
	// Limits are the sink's delivery limits, as the delivery block sets
	// them.
	Limits DeliveryLimits `json:"limits"`
}

// DeliveryLimits are a sink's limits in the words of the delivery block.
type DeliveryLimits struct {
	Concurrency int           `json:"concurrency"`
	Rate        float64       `json:"rate"` // sends per second; 0 is unlimited
	Burst       int           `json:"burst"`
	Circuit     CircuitLimits `json:"circuit"`
}

// CircuitLimits are a sink's circuit breaker settings.
type CircuitLimits struct {
	Failures int    `json:"failures"` // 0: the breaker is off
	Cooldown string `json:"cooldown"` // such as "30s"
}

// OpenCircuit reports whether the sink's circuit is open, for templates.
func (d *SinkDelivery) OpenCircuit() bool { return d.Circuit == sinks.CircuitOpen.String() }

// deliveryOf converts what a sinks.Dispatcher reports.
func deliveryOf(st sinks.SinkState) *SinkDelivery {
	l := st.Limits
	failures := l.Circuit.Failures
	if failures < 0 {
		failures = 0 // sinks.CircuitOff, written 0 in the delivery block
	}
	return &SinkDelivery{
		Queued: st.Queued, InFlight: st.InFlight, Circuit: st.Circuit.String(), NextProbe: st.NextProbe.UTC(),
		ConsecutiveFailures: st.ConsecutiveFailures, RateLimitedWaits: st.RateLimitedWaits,
		Limits: DeliveryLimits{Concurrency: l.Concurrency, Rate: l.Rate, Burst: l.Burst,
			Circuit: CircuitLimits{Failures: failures, Cooldown: l.Circuit.Cooldown.String()}},
	}
}
