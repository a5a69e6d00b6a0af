package sinks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestRetryPolicyMergesFieldByField(t *testing.T) {
	raw := map[string]any{
		"max_attempts":    7,
		"base_backoff":    "500ms",
		"jitter_fraction": 0.1,
		"per_sink": map[string]any{
			"pager":  map[string]any{"max_attempts": 10},
			"quiet":  map[string]any{"jitter_fraction": 0, "max_backoff": "2m"},
			"single": map[string]any{"max_attempts": 1},
		},
	}
	p, err := DecodeRetryPolicy(raw)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]RetryConfig{
		"other":  {7, 500 * time.Millisecond, 30 * time.Second, 0.1},
		"pager":  {10, 500 * time.Millisecond, 30 * time.Second, 0.1},
		"quiet":  {7, 500 * time.Millisecond, 2 * time.Minute, NoJitter},
		"single": {1, 500 * time.Millisecond, 30 * time.Second, 0.1},
	}
	for sink, want := range cases {
		if got := p.For(sink); got != want {
			t.Errorf("For(%q) = %+v, want %+v", sink, got, want)
		}
	}
	if got := (RetryPolicy{}).For("x"); got != (RetryConfig{}).Normalize() {
		t.Errorf("empty policy: %+v", got)
	}
	// The same block decodes from JSON into the struct directly.
	var q RetryPolicy
	if err := json.Unmarshal([]byte(`{"max_attempts":7,"base_backoff":"500ms","jitter_fraction":0.1,"per_sink":{"pager":{"max_attempts":10}}}`), &q); err != nil {
		t.Fatal(err)
	}
	if q.For("pager") != cases["pager"] || q.Validate() != nil {
		t.Errorf("json: %+v", q.For("pager"))
	}
}

func TestDecodeRetryPolicyErrors(t *testing.T) {
	cases := []struct {
		raw    map[string]any
		key    string
		reason string
	}{
		{map[string]any{"max_attempt": 3}, "retry.max_attempt",
			"unknown key (known keys: base_backoff, jitter_fraction, max_attempts, max_backoff, per_sink)"},
		{map[string]any{"max_attempts": 0}, "retry.max_attempts", "at least 1"},
		{map[string]any{"base_backoff": "fast"}, "retry.base_backoff", "wants a duration"},
		{map[string]any{"base_backoff": "1m", "max_backoff": "1s"}, "retry.base_backoff", "must not exceed"},
		{map[string]any{"jitter_fraction": 1.5}, "retry.jitter_fraction", "between 0 and 1"},
		{map[string]any{"per_sink": map[string]any{"pager": map[string]any{"max_attempts": "ten"}}}, "retry.per_sink.pager.max_attempts", "wants a number"},
		{map[string]any{"per_sink": map[string]any{"pager": map[string]any{"tries": 3}}}, "retry.per_sink.pager.tries", "unknown key"},
		{map[string]any{"per_sink": map[string]any{"pager": map[string]any{"max_backoff": "0s"}}}, "retry.per_sink.pager.max_backoff", "must be positive"},
	}
	for _, c := range cases {
		_, err := DecodeRetryPolicy(c.raw)
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%v: got %v", c.raw, err)
			continue
		}
		if ce.Key != c.key || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%v: got key %q, %q; want key %q saying %q", c.raw, ce.Key, err, c.key, c.reason)
		}
	}
}

func TestRetryPolicyFromYAML(t *testing.T) {
	src := `
max_attempts: 4
base_backoff: 250ms
per_sink:
  pager:
    max_backoff: 2m
    jitter_fraction: 0
`
	var p RetryPolicy
	if err := yaml.Unmarshal([]byte(src), &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := RetryConfig{4, 250 * time.Millisecond, 2 * time.Minute, NoJitter}
	if got := p.For("pager"); got != want {
		t.Fatalf("For(pager) = %+v, want %+v", got, want)
	}
	// The same text through the generic map path agrees.
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatal(err)
	}
	q, err := DecodeRetryPolicy(raw)
	if err != nil || q.For("pager") != want || q.For("x") != p.For("x") {
		t.Fatalf("map path: %+v, %v", q.For("pager"), err)
	}
	var bad RetryPolicy
	if err := yaml.Unmarshal([]byte("base_backoff: 5\n"), &bad); err == nil {
		t.Fatal("a bare number decoded as a duration")
	}
}
