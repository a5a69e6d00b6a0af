package sinks

import (
	"sort"
	"sync"
)

// Factory builds a Sink from the configuration block that the user keyed by
// name (which becomes the sink's Name()); raw holds the block's other keys.
// A factory validates its own keys with DecodeConfig and reports mistakes
// as *ConfigError. Built-in sink packages register their factory from init,
// so importing the package is enough.
type Factory func(name string, raw map[string]any) (Sink, error)

var factories struct {
	sync.RWMutex
	m map[string]Factory
}

// RegisterFactory associates kind with f. Registering a kind again replaces
// the earlier factory (meant for tests). A nil f removes the kind.
func RegisterFactory(kind string, f Factory) {
	factories.Lock()
	defer factories.Unlock()
	if f == nil {
		delete(factories.m, kind)
		return
	}
	if factories.m == nil {
		factories.m = make(map[string]Factory)
	}
	factories.m[kind] = f
}

// LookupFactory returns the factory registered for kind.
func LookupFactory(kind string) (Factory, bool) {
	factories.RLock()
	defer factories.RUnlock()
	f, ok := factories.m[kind]
	return f, ok
}

// FactoryKinds returns every registered kind, sorted (the original API left
// the order unspecified).
func FactoryKinds() []string {
	factories.RLock()
	defer factories.RUnlock()
	kinds := make([]string, 0, len(factories.m))
	for k := range factories.m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// BuildSink builds the sink that the user named name from its configuration
// block raw (whose "kind" key, if present, is ignored in favour of kind).
// An unregistered kind is an error matching ErrInvalidConfig that lists the
// registered kinds. A *ConfigError from the factory never shows a value
// that came from the environment (a key whose value in raw holds ${NAME}).
func BuildSink(kind, name string, raw map[string]any) (Sink, error) {
	if name == "" {
		return nil, &ConfigError{Kind: kind, Key: "name", Reason: "a sink needs a name"}
	}
	f, ok := LookupFactory(kind)
	if !ok {
		return nil, &ConfigError{Kind: kind, Sink: name, Key: "kind", Value: kind,
			Reason: "unknown sink kind (registered: " + joinOrNone(FactoryKinds()) + "; import the sink's package)"}
	}
	clean := make(map[string]any, len(raw))
	for k, v := range raw {
		if k != "kind" {
			clean[k] = v
		}
	}
	s, err := f(name, clean)
	if err != nil {
		hideExpanded(err, name, clean)
		return nil, err
	}
	if s == nil {
		return nil, Errorf(CodeInternal, "BuildSink", "factory for kind %q returned a nil sink", kind)
	}
	return s, nil
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	out := s[0]
	for _, k := range s[1:] {
		out += ", " + k
	}
	return out
}
