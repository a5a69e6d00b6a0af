// Package jsonfields tells which keys of a JSON object a Go struct type
// decodes, as encoding/json sees them: the json tag's name or else the
// field's, the fields of embedded structs promoted, "-" left out, and a key
// matched exactly first, then without regard to case. Errors about a bad
// value use it to name the key as the JSON spells it.
package jsonfields

import (
	"reflect"
	"strings"
)

// Name returns the name f's json tag gives it, or "" when the tag names
// none.
func Name(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// Of maps the JSON names of struct type t's exported fields, those promoted
// from embedded structs included, to their types.
func Of(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := Name(f)
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// Promoted, as encoding/json does, even from an unexported
			// embedded struct.
			for k, ft := range Of(f.Type) {
				if _, taken := out[k]; !taken {
					out[k] = ft
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// Lookup finds key among fields (from Of) as encoding/json does: the exact
// name first, then one that differs only in case.
func Lookup(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for name, t := range fields {
		if strings.EqualFold(name, key) {
			return t, true
		}
	}
	return nil, false
}
