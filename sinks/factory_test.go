package sinks

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type namedSink struct{ name string }

func (s namedSink) Name() string                                   { return s.name }
func (s namedSink) Send(context.Context, Recipient, Message) error { return nil }

func TestFactoryRegistry(t *testing.T) {
	type cfg struct {
		Channel string `json:"channel"`
	}
	RegisterFactory("test-kind", func(name string, raw map[string]any) (Sink, error) {
		if _, ok := raw["kind"]; ok {
			t.Error("factory saw the kind key")
		}
		var c cfg
		if err := DecodeConfig("test-kind", name, raw, &c); err != nil {
			return nil, err
		}
		if c.Channel == "" {
			return nil, &ConfigError{Kind: "test-kind", Sink: name, Key: "channel", Reason: "is required"}
		}
		return namedSink{name}, nil
	})
	RegisterFactory("test-nil", func(string, map[string]any) (Sink, error) { return nil, nil })
	t.Cleanup(func() { RegisterFactory("test-kind", nil); RegisterFactory("test-nil", nil) })

	if _, ok := LookupFactory("test-kind"); !ok {
		t.Fatal("LookupFactory")
	}
	// Other kinds may be registered by the packages the external tests
	// import (sinks/webhook); ours must be there, in sorted order.
	kinds := slices.DeleteFunc(FactoryKinds(), func(k string) bool { return !strings.HasPrefix(k, "test-") })
	if !reflect.DeepEqual(kinds, []string{"test-kind", "test-nil"}) || !slices.IsSorted(FactoryKinds()) {
		t.Fatalf("FactoryKinds = %v", FactoryKinds())
	}
	s, err := BuildSink("test-kind", "ops", map[string]any{"kind": "test-kind", "channel": "#ops"})
	if err != nil || s.Name() != "ops" {
		t.Fatalf("BuildSink: %v, %v", s, err)
	}
	_, err = BuildSink("test-kind", "ops", map[string]any{})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "channel" || !strings.Contains(err.Error(), `sink "ops"`) {
		t.Fatalf("missing key: %v", err)
	}
	_, err = BuildSink("nope", "ops", nil)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "test-kind") {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := BuildSink("test-kind", "", nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("empty name: %v", err)
	}
	if _, err := BuildSink("test-nil", "x", nil); !errors.Is(err, ErrInternal) {
		t.Fatalf("nil sink: %v", err)
	}
	RegisterFactory("test-nil", nil)
	if _, ok := LookupFactory("test-nil"); ok {
		t.Fatal("nil factory did not remove the kind")
	}
}

func TestDeliveryID(t *testing.T) {
	ctx := context.Background()
	if DeliveryID(ctx) != "" {
		t.Fatal("id from an empty context")
	}
	if got := DeliveryID(WithDeliveryID(ctx, "abc")); got != "abc" {
		t.Fatal(got)
	}
}

// A factory checks values after they were expanded; BuildSink hides the
// value of a key that holds a ${NAME} reference.
func TestBuildSinkHidesExpandedValues(t *testing.T) {
	type cfg struct {
		Addr string `json:"addr"`
	}
	RegisterFactory("test-addr", func(name string, raw map[string]any) (Sink, error) {
		var c cfg
		if err := DecodeConfig("test-addr", name, raw, &c); err != nil {
			return nil, err
		}
		return nil, &ConfigError{Kind: "test-addr", Sink: name, Key: "addr", Value: c.Addr, Reason: "wants host:port"}
	})
	t.Cleanup(func() { RegisterFactory("test-addr", nil) })
	t.Setenv("DLETTER_TEST_ADDR", "internal-host-s3cr3t")

	_, err := BuildSink("test-addr", "n", map[string]any{"addr": "${DLETTER_TEST_ADDR}"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "addr" || strings.Contains(err.Error(), "s3cr3t") || !ce.Secret {
		t.Fatalf("expanded value: %v", err)
	}
	_, err = BuildSink("test-addr", "n", map[string]any{"addr": "plain-host"})
	if !strings.Contains(err.Error(), `"plain-host"`) {
		t.Fatalf("a value from the file itself is shown: %v", err)
	}
}
