package sinks

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/dletter/dletter/internal/jsonfields"
)

// badLeaf is what findBadLeaf found: the dotted path to the value that
// fails to decode, the value, and the type it was meant to be.
type badLeaf struct {
	path    string       // such as "circuit.cooldown" or "headers.X-Bad" or "tags[1]"
	value   any          // the value at path; nil for an unknown key
	typ     reflect.Type // the type the value was decoded into
	unknown bool         // path names a key its struct has no field for
	known   []string     // with unknown: the keys the struct has, sorted
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// findBadLeaf walks v (as a JSON-like tree of maps, lists and scalars) along
// t and returns the deepest value that fails to decode into its part of t,
// so that an error can name "delivery.circuit.cooldown" and show "forever"
// rather than the whole circuit map. ok is false when every part decodes on
// its own.
func findBadLeaf(path string, v any, t reflect.Type) (leaf badLeaf, ok bool) {
	if decodeValue(v, t) == nil {
		return badLeaf{}, false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	here := badLeaf{path: path, value: v, typ: t}
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return here, true // a leaf with its own syntax, such as Duration
	}
	switch t.Kind() {
	case reflect.Struct:
		m, isMap := v.(map[string]any)
		if !isMap {
			return here, true
		}
		fields := jsonfields.Of(t)
		for _, k := range sortedNames(m) {
			ft, found := jsonfields.Lookup(fields, k)
			if !found {
				return badLeaf{path: joinPath(path, k), typ: t, unknown: true, known: sortedNames(fields)}, true
			}
			if leaf, ok := findBadLeaf(joinPath(path, k), m[k], ft); ok {
				return leaf, true
			}
		}
	case reflect.Map:
		m, isMap := v.(map[string]any)
		if !isMap || t.Key().Kind() != reflect.String {
			return here, true
		}
		for _, k := range sortedNames(m) {
			if leaf, ok := findBadLeaf(joinPath(path, k), m[k], t.Elem()); ok {
				return leaf, true
			}
		}
	case reflect.Slice, reflect.Array:
		list, isList := v.([]any)
		if !isList {
			return here, true
		}
		for i, e := range list {
			if leaf, ok := findBadLeaf(path+"["+strconv.Itoa(i)+"]", e, t.Elem()); ok {
				return leaf, true
			}
		}
	}
	return here, true
}

// decodeValue decodes v alone into a fresh value of type t, refusing
// unknown fields as decodeInto does, and returns the decoder's error.
func decodeValue(v any, t reflect.Type) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(reflect.New(t).Interface())
}

// joinPath names key under path: "delivery.circuit", or in brackets when
// the key would make a dotted path ambiguous, as a host name does:
// "recipient_secrets[p.example]".
func joinPath(path, key string) string {
	switch {
	case strings.ContainsAny(key, ".[] "):
		return path + "[" + key + "]"
	case path == "":
		return key
	}
	return path + "." + key
}
