package sinks

import (
	"math"
	"time"
)

// Defaults of DeliveryConfig.
const (
	DefaultConcurrency     = 16
	DefaultCircuitFailures = 5
	DefaultCircuitCooldown = 30 * time.Second
	// CircuitOff, as CircuitConfig.Failures, turns the circuit breaker off.
	CircuitOff = -1
)

// DeliveryConfig is how hard one sink may be driven: by a Dispatcher, and
// by the synchronous Retrier of a Registry built WithDeliveryPolicy, which
// share its limits. Zero values are interpreted by Normalize.
type DeliveryConfig struct {
	// Concurrency caps the sends in flight to the sink at once, synchronous
	// and queued together. Default DefaultConcurrency (16).
	Concurrency int
	// Rate caps the sends started per second; 0 (or less) means unlimited.
	Rate float64
	// Burst is how many sends may start at once above Rate; 0 means Rate
	// rounded up. Unused without a Rate.
	Burst int
	// Circuit pauses a sink that keeps failing.
	Circuit CircuitConfig
}

// CircuitConfig configures a sink's circuit breaker. After Failures
// consecutive transient failures the circuit opens: for Cooldown no send is
// made (queued messages wait without spending attempts; synchronous sends
// are dead-lettered at once with an error matching ErrCircuitOpen). Then
// one probe send is let through: success closes the circuit, a transient
// failure opens it for another Cooldown. A success, or a terminal failure
// (the sink answered), resets the count.
type CircuitConfig struct {
	// Failures is the number of consecutive transient failures that opens
	// the circuit. Default DefaultCircuitFailures (5); CircuitOff (any
	// negative value) turns the breaker off.
	Failures int
	// Cooldown is how long the circuit stays open. Default
	// DefaultCircuitCooldown (30s).
	Cooldown time.Duration
}

// Normalize fills in the defaults. It is idempotent.
func (c DeliveryConfig) Normalize() DeliveryConfig {
	if c.Concurrency < 1 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Rate <= 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		c.Rate, c.Burst = 0, 0
	} else if c.Burst < 1 {
		c.Burst = int(math.Ceil(c.Rate))
	}
	switch {
	case c.Circuit.Failures < 0:
		c.Circuit.Failures = CircuitOff
	case c.Circuit.Failures == 0:
		c.Circuit.Failures = DefaultCircuitFailures
	}
	if c.Circuit.Cooldown <= 0 {
		c.Circuit.Cooldown = DefaultCircuitCooldown
	}
	return c
}

// DeliveryOverride is one `delivery:` block of a configuration file: the
// fields that are set replace those of the config they apply to, the others
// are kept (circuit field by field too).
type DeliveryOverride struct {
	Concurrency *int             `json:"concurrency,omitempty" yaml:"concurrency,omitempty"` // DeliveryConfig.Concurrency, at least 1
	Rate        *float64         `json:"rate,omitempty" yaml:"rate,omitempty"`               // DeliveryConfig.Rate; 0 = unlimited
	Burst       *int             `json:"burst,omitempty" yaml:"burst,omitempty"`             // DeliveryConfig.Burst; 0 = rate rounded up
	Circuit     *CircuitOverride `json:"circuit,omitempty" yaml:"circuit,omitempty"`         // DeliveryConfig.Circuit
}

// CircuitOverride is the `circuit:` key of a delivery block.
type CircuitOverride struct {
	Failures *int      `json:"failures,omitempty" yaml:"failures,omitempty"` // 0 turns the breaker off
	Cooldown *Duration `json:"cooldown,omitempty" yaml:"cooldown,omitempty"` // positive
}

// Apply returns c with the fields set in o replacing c's. An explicit
// failures of 0 becomes CircuitOff.
func (o DeliveryOverride) Apply(c DeliveryConfig) DeliveryConfig {
	if o.Concurrency != nil {
		c.Concurrency = *o.Concurrency
	}
	if o.Rate != nil {
		c.Rate = *o.Rate
	}
	if o.Burst != nil {
		c.Burst = *o.Burst
	}
	if o.Circuit != nil {
		if f := o.Circuit.Failures; f != nil {
			c.Circuit.Failures = *f
			if *f == 0 {
				c.Circuit.Failures = CircuitOff
			}
		}
		if d := o.Circuit.Cooldown; d != nil {
			c.Circuit.Cooldown = time.Duration(*d)
		}
	}
	return c
}

// validate checks the fields that are set; prefix names the block in errors.
func (o DeliveryOverride) validate(prefix string) error {
	fail := func(key string, v any, reason string) error {
		return &ConfigError{Key: prefix + key, Value: v, Reason: reason}
	}
	if o.Concurrency != nil && *o.Concurrency < 1 {
		return fail("concurrency", *o.Concurrency, "must be at least 1")
	}
	if r := o.Rate; r != nil && (*r < 0 || math.IsNaN(*r) || math.IsInf(*r, 0)) {
		return fail("rate", *r, "must be a number of sends per second, 0 or more (0 = unlimited)")
	}
	if o.Burst != nil && *o.Burst < 0 {
		return fail("burst", *o.Burst, "must be 0 or more (0 = rate rounded up)")
	}
	if c := o.Circuit; c != nil {
		if c.Failures != nil && *c.Failures < 0 {
			return fail("circuit.failures", *c.Failures, "must be 0 or more (0 turns the breaker off)")
		}
		if c.Cooldown != nil && *c.Cooldown <= 0 {
			return fail("circuit.cooldown", c.Cooldown.String(), "must be positive")
		}
	}
	return nil
}

// DeliveryPolicy is the `delivery:` section of a configuration file: a
// global block and per-sink overrides that merge with it field by field.
//
//	delivery:
//	  concurrency: 16        # in-flight sends per sink
//	  rate: 0                # sends per second per sink, 0 = unlimited
//	  burst: 0               # 0 = rate rounded up
//	  circuit: {failures: 5, cooldown: 30s}   # failures: 0 turns the breaker off
//	  shutdown_timeout: 30s
//	  per_sink:
//	    mail: {concurrency: 2, rate: 10}
type DeliveryPolicy struct {
	DeliveryOverride `yaml:",inline"` // the global block
	// ShutdownTimeout is how long a graceful shutdown lets sends in flight
	// finish before it cancels them (global only). Default 30s.
	ShutdownTimeout *Duration `json:"shutdown_timeout,omitempty" yaml:"shutdown_timeout,omitempty"`
	// PerSink overrides the global block, field by field, for the sinks it
	// names.
	PerSink map[string]DeliveryOverride `json:"per_sink,omitempty" yaml:"per_sink,omitempty"`
}

// defaultShutdownTimeout is DeliveryPolicy.ShutdownTimeout's default.
const defaultShutdownTimeout = 30 * time.Second

// For returns the normalized config of sink: the defaults, overridden by
// the global block, overridden by the sink's own block.
func (p DeliveryPolicy) For(sink string) DeliveryConfig {
	c := p.DeliveryOverride.Apply(DeliveryConfig{})
	if o, ok := p.PerSink[sink]; ok {
		c = o.Apply(c)
	}
	return c.Normalize()
}

// Shutdown returns the shutdown timeout, 30s when unset.
func (p DeliveryPolicy) Shutdown() time.Duration {
	if p.ShutdownTimeout == nil {
		return defaultShutdownTimeout
	}
	return time.Duration(*p.ShutdownTimeout)
}

// Validate reports the first bad value as a *ConfigError whose key is the
// path in the file, such as "delivery.per_sink.mail.rate".
func (p DeliveryPolicy) Validate() error {
	if err := p.DeliveryOverride.validate("delivery."); err != nil {
		return err
	}
	if d := p.ShutdownTimeout; d != nil && *d < 0 {
		return &ConfigError{Key: "delivery.shutdown_timeout", Value: d.String(), Reason: "must not be negative"}
	}
	for _, name := range sortedNames(p.PerSink) {
		if err := p.PerSink[name].validate("delivery.per_sink." + name + "."); err != nil {
			return err
		}
	}
	return nil
}

// DecodeDeliveryPolicy decodes and validates the `delivery:` section of a
// configuration file, given as the map a YAML or JSON decoder produced. Like
// DecodeRetryPolicy, it refuses unknown keys and wrong types, expands
// ${ENV}, and names the key and the value in every error.
func DecodeDeliveryPolicy(raw map[string]any) (DeliveryPolicy, error) {
	var p DeliveryPolicy
	global := make(map[string]any, len(raw))
	var shutdown struct {
		ShutdownTimeout *Duration `json:"shutdown_timeout,omitempty"`
	}
	for k, v := range raw {
		if k == "shutdown_timeout" {
			if err := DecodeConfig("", "", map[string]any{k: v}, &shutdown); err != nil {
				return p, rekey(err, "delivery.")
			}
			continue
		}
		global[k] = v
	}
	per, err := decodeSection(global, "delivery", &p.DeliveryOverride, "shutdown_timeout")
	if err != nil {
		return p, err
	}
	p.ShutdownTimeout = shutdown.ShutdownTimeout
	if p.PerSink, err = decodePerSink[DeliveryOverride](per, "delivery"); err != nil {
		return p, err
	}
	return p, p.Validate()
}
