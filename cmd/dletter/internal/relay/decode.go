package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/dletter/dletter/internal/jsonfields"
)

// DecodeObject decodes data, which must hold one JSON object and nothing
// after it, into dst (a pointer to a struct), refusing fields dst does not
// have. Every refusal is a *FieldError naming the field by its path in the
// JSON ("sink", "message.subject"), never by the Go names of dst's embedded
// structs; what is wrong with the object as a whole names "body".
func DecodeObject(data []byte, dst any) error {
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' {
		return &FieldError{Field: "body", Reason: "must be a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, reflect.TypeOf(dst))
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return &FieldError{Field: "body", Reason: "must hold a single JSON object"}
	}
	return nil
}

// decodeError turns an error of encoding/json decoding into a value of
// type t into a *FieldError.
func decodeError(err error, t reflect.Type) error {
	var (
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &FieldError{Field: jsonPath(t, typeErr.Field), Reason: "wants " + typeErr.Type.String() + ", not a JSON " + typeErr.Value}
	case errors.As(err, &syntax):
		return &FieldError{Field: "body", Reason: fmt.Sprintf("invalid JSON at byte %d: %v", syntax.Offset, syntax)}
	case errors.Is(err, io.EOF):
		return &FieldError{Field: "body", Reason: "is empty; a JSON object is required"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &FieldError{Field: "body", Reason: "ends inside the JSON object"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, qerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if qerr == nil {
			return &FieldError{Field: name, Reason: "unknown field"}
		}
	}
	return &FieldError{Field: "body", Reason: err.Error()}
}

// jsonPath rewrites the path encoding/json gives a value of the wrong type
// in a value of type t, where an embedded struct appears under its Go name
// ("FilterParams.sink"), into the path the JSON has ("sink").
func jsonPath(t reflect.Type, path string) string {
	var out []string
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			out = append(out, segs[i:]...)
			break
		}
		if f, ok := t.FieldByName(seg); ok && f.Anonymous && jsonfields.Name(f) == "" {
			t = f.Type
			continue
		}
		out = append(out, seg)
		t = fieldType(t, seg)
	}
	return strings.Join(out, ".")
}

// fieldType returns the type of the field of struct type t that the JSON
// name name decodes into, or nil.
func fieldType(t reflect.Type, name string) reflect.Type {
	ft, _ := jsonfields.Lookup(jsonfields.Of(t), name)
	return ft
}
