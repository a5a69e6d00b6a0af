package sinks

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDeliveryPolicyMergesFieldByField(t *testing.T) {
	raw := map[string]any{
		"concurrency":      8,
		"rate":             100,
		"circuit":          map[string]any{"failures": 3, "cooldown": "10s"},
		"shutdown_timeout": "5s",
		"per_sink": map[string]any{
			"mail":  map[string]any{"concurrency": 2, "rate": 10},
			"pager": map[string]any{"circuit": map[string]any{"cooldown": "1m"}},
			"loose": map[string]any{"circuit": map[string]any{"failures": 0}, "rate": 0},
		},
	}
	p, err := DecodeDeliveryPolicy(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.For("other"), (DeliveryConfig{Concurrency: 8, Rate: 100, Burst: 100,
		Circuit: CircuitConfig{Failures: 3, Cooldown: 10 * time.Second}}); got != want {
		t.Errorf("For(other) = %+v, want %+v", got, want)
	}
	if got, want := p.For("mail"), (DeliveryConfig{Concurrency: 2, Rate: 10, Burst: 10,
		Circuit: CircuitConfig{Failures: 3, Cooldown: 10 * time.Second}}); got != want {
		t.Errorf("For(mail) = %+v, want %+v", got, want)
	}
	if got, want := p.For("pager").Circuit, (CircuitConfig{Failures: 3, Cooldown: time.Minute}); got != want {
		t.Errorf("For(pager).Circuit = %+v, want %+v (failures kept from the global block)", got, want)
	}
	if got := p.For("loose"); got.Circuit.Failures != CircuitOff || got.Rate != 0 || got.Burst != 0 {
		t.Errorf("For(loose) = %+v, want the breaker off and no rate", got)
	}
	if got := p.Shutdown(); got != 5*time.Second {
		t.Errorf("Shutdown() = %v, want 5s", got)
	}
}

func TestDeliveryPolicyDefaults(t *testing.T) {
	p, err := DecodeDeliveryPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := DeliveryConfig{Concurrency: DefaultConcurrency,
		Circuit: CircuitConfig{Failures: DefaultCircuitFailures, Cooldown: DefaultCircuitCooldown}}
	if got := p.For("any"); got != want {
		t.Errorf("For = %+v, want %+v", got, want)
	}
	if p.Shutdown() != defaultShutdownTimeout {
		t.Errorf("Shutdown() = %v", p.Shutdown())
	}
	if got := (DeliveryConfig{Rate: 2.5}).Normalize().Burst; got != 3 {
		t.Errorf("burst of rate 2.5 = %d, want 3 (rate rounded up)", got)
	}
}

func TestDeliveryPolicyErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  map[string]any
		key  string
		text string
	}{
		{"negative concurrency", map[string]any{"concurrency": -1}, "delivery.concurrency", "-1"},
		{"zero concurrency", map[string]any{"concurrency": 0}, "delivery.concurrency", "at least 1"},
		{"concurrency of the wrong type", map[string]any{"concurrency": "many"}, "delivery.concurrency", "wants a number"},
		{"negative rate", map[string]any{"rate": -5}, "delivery.rate", "-5"},
		{"rate of the wrong type", map[string]any{"rate": true}, "delivery.rate", "wants a number"},
		{"negative burst", map[string]any{"burst": -2}, "delivery.burst", "-2"},
		{"negative failures", map[string]any{"circuit": map[string]any{"failures": -1}}, "delivery.circuit.failures", "-1"},
		{"zero cooldown", map[string]any{"circuit": map[string]any{"cooldown": "0s"}}, "delivery.circuit.cooldown", "positive"},
		{"negative cooldown", map[string]any{"circuit": map[string]any{"cooldown": "-3s"}}, "delivery.circuit.cooldown", `(got "-3s")`},
		{"cooldown of the wrong type", map[string]any{"circuit": map[string]any{"cooldown": "soon"}}, "delivery.circuit.cooldown", `wants a duration such as 30s (got "soon")`},
		{"failures of the wrong type beside a good cooldown", map[string]any{"circuit": map[string]any{"failures": "x", "cooldown": "10s"}},
			"delivery.circuit.failures", `wants a number (got "x")`},
		{"circuit of the wrong type", map[string]any{"circuit": 5}, "delivery.circuit", "wants"},
		{"unknown key", map[string]any{"concurency": 4}, "delivery.concurency",
			"unknown key (known keys: burst, circuit, concurrency, per_sink, rate, shutdown_timeout)"},
		{"per-sink error", map[string]any{"per_sink": map[string]any{"mail": map[string]any{"rate": -1}}},
			"delivery.per_sink.mail.rate", "-1"},
		{"per-sink shutdown_timeout", map[string]any{"per_sink": map[string]any{"mail": map[string]any{"shutdown_timeout": "1s"}}},
			"delivery.per_sink.mail.shutdown_timeout", "unknown key"},
		{"per_sink not a map", map[string]any{"per_sink": []any{"mail"}}, "delivery.per_sink", "map"},
		{"per-sink block not a map", map[string]any{"per_sink": map[string]any{"mail": 3}}, "delivery.per_sink.mail", "map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDeliveryPolicy(tc.raw)
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if ce.Key != tc.key || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v (key %q), want key %q and %q in the text", err, ce.Key, tc.key, tc.text)
			}
		})
	}
}
