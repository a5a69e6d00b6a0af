package sinks

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// RetryOverride is one `retry:` block of a configuration file: the fields
// that are set replace those of the config they are applied to, the others
// are kept. Its keys are max_attempts, base_backoff and max_backoff (Go
// durations such as "500ms") and jitter_fraction (0 turns jitter off).
type RetryOverride struct {
	MaxAttempts    *int      `json:"max_attempts,omitempty" yaml:"max_attempts,omitempty"`       // RetryConfig.MaxAttempts
	BaseBackoff    *Duration `json:"base_backoff,omitempty" yaml:"base_backoff,omitempty"`       // RetryConfig.BaseBackoff
	MaxBackoff     *Duration `json:"max_backoff,omitempty" yaml:"max_backoff,omitempty"`         // RetryConfig.MaxBackoff
	JitterFraction *float64  `json:"jitter_fraction,omitempty" yaml:"jitter_fraction,omitempty"` // RetryConfig.JitterFraction; 0 = none
}

// Apply returns c with the fields set in o replacing c's. An explicit
// jitter_fraction of 0 becomes NoJitter.
func (o RetryOverride) Apply(c RetryConfig) RetryConfig {
	if o.MaxAttempts != nil {
		c.MaxAttempts = *o.MaxAttempts
	}
	if o.BaseBackoff != nil {
		c.BaseBackoff = time.Duration(*o.BaseBackoff)
	}
	if o.MaxBackoff != nil {
		c.MaxBackoff = time.Duration(*o.MaxBackoff)
	}
	if o.JitterFraction != nil {
		c.JitterFraction = *o.JitterFraction
		if c.JitterFraction == 0 {
			c.JitterFraction = NoJitter
		}
	}
	return c
}

// validate checks the fields that are set; prefix names the block in errors.
func (o RetryOverride) validate(prefix string) error {
	fail := func(key string, v any, reason string) error {
		return &ConfigError{Key: prefix + key, Value: v, Reason: reason}
	}
	if o.MaxAttempts != nil && *o.MaxAttempts < 1 {
		return fail("max_attempts", *o.MaxAttempts, "must be at least 1")
	}
	if o.BaseBackoff != nil && *o.BaseBackoff <= 0 {
		return fail("base_backoff", o.BaseBackoff.String(), "must be positive")
	}
	if o.MaxBackoff != nil && *o.MaxBackoff <= 0 {
		return fail("max_backoff", o.MaxBackoff.String(), "must be positive")
	}
	if o.BaseBackoff != nil && o.MaxBackoff != nil && *o.BaseBackoff > *o.MaxBackoff {
		return fail("base_backoff", o.BaseBackoff.String(), "must not exceed max_backoff ("+o.MaxBackoff.String()+")")
	}
	if j := o.JitterFraction; j != nil && (*j < 0 || *j > 1 || math.IsNaN(*j)) {
		return fail("jitter_fraction", *j, "must be between 0 and 1")
	}
	return nil
}

// RetryPolicy is the `retry:` section of a configuration file: a global
// block and per-sink overrides that merge with it field by field.
//
//	retry:
//	  max_attempts: 5
//	  base_backoff: 1s
//	  max_backoff: 30s
//	  jitter_fraction: 0.2
//	  per_sink:
//	    pager: {max_attempts: 10}   # keeps the global backoff and jitter
type RetryPolicy struct {
	RetryOverride `yaml:",inline"` // the global block
	// PerSink overrides the global block, field by field, for the sinks it
	// names.
	PerSink map[string]RetryOverride `json:"per_sink,omitempty" yaml:"per_sink,omitempty"`
}

// For returns the normalized config of sink: the defaults, overridden by
// the global block, overridden by the sink's own block.
func (p RetryPolicy) For(sink string) RetryConfig {
	c := p.RetryOverride.Apply(RetryConfig{})
	if o, ok := p.PerSink[sink]; ok {
		c = o.Apply(c)
	}
	return c.Normalize()
}

// Validate reports the first bad value as a *ConfigError whose key is the
// path in the file, such as "retry.per_sink.pager.max_attempts".
func (p RetryPolicy) Validate() error {
	if err := p.RetryOverride.validate("retry."); err != nil {
		return err
	}
	for _, name := range sortedNames(p.PerSink) {
		if err := p.PerSink[name].validate("retry.per_sink." + name + "."); err != nil {
			return err
		}
	}
	return nil
}

// DecodeRetryPolicy decodes and validates the `retry:` section of a
// configuration file, given as the map a YAML or JSON decoder produced. Like
// DecodeConfig, it refuses unknown keys and wrong types, expands ${ENV}, and
// names the key (as a path such as "retry.per_sink.pager.base_backoff") and
// the value in every error.
func DecodeRetryPolicy(raw map[string]any) (RetryPolicy, error) {
	var p RetryPolicy
	per, err := decodeSection(raw, "retry", &p.RetryOverride)
	if err != nil {
		return p, err
	}
	if p.PerSink, err = decodePerSink[RetryOverride](per, "retry"); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// decodeSection decodes the global block of a configuration section with
// per-sink overrides (such as `retry:`) into global and returns the raw
// per_sink blocks by sink name; errors name keys under section. also names
// the other keys of the section that the caller took out of raw, so that an
// unknown key's error lists every key the section has.
func decodeSection(raw map[string]any, section string, global any, also ...string) (map[string]map[string]any, error) {
	rest := make(map[string]any, len(raw))
	for k, v := range raw {
		if k != "per_sink" {
			rest[k] = v
		}
	}
	if err := decodeConfig("", "", rest, global, append([]string{"per_sink"}, also...)...); err != nil {
		return nil, rekey(err, section+".")
	}
	var per map[string]map[string]any
	if v, ok := raw["per_sink"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, &ConfigError{Key: section + ".per_sink", Value: v, Reason: "wants a map of sink names to blocks"}
		}
		per = make(map[string]map[string]any, len(m))
		for name, block := range m {
			b, ok := block.(map[string]any)
			if !ok && block != nil {
				return nil, &ConfigError{Key: section + ".per_sink." + name, Value: block, Reason: "wants a map"}
			}
			per[name] = b
		}
	}
	return per, nil
}

// decodePerSink decodes the per_sink blocks of section, in name order so
// that the first error is always the same; nil when there are none.
func decodePerSink[O any](per map[string]map[string]any, section string) (map[string]O, error) {
	var out map[string]O
	for _, name := range sortedNames(per) {
		var o O
		if err := DecodeConfig("", "", per[name], &o); err != nil {
			return nil, rekey(err, section+".per_sink."+name+".")
		}
		if out == nil {
			out = make(map[string]O, len(per))
		}
		out[name] = o
	}
	return out, nil
}

// sortedNames returns the keys of m, sorted.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// rekey prefixes the key of a *ConfigError with the block's path.
func rekey(err error, prefix string) error {
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return fmt.Errorf("sinks: %s: %w", prefix[:len(prefix)-1], err)
	}
	out := *ce
	out.Key = prefix + ce.Key
	return &out
}
