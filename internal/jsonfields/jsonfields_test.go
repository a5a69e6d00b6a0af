package jsonfields

import (
	"reflect"
	"testing"
)

type inner struct {
	Sink string `json:"sink"`
	Q    string `json:"q,omitempty"`
}

type outer struct {
	inner
	Max     int `json:"max"`
	Skipped int `json:"-"`
	Plain   bool
	hidden  int
	Named   inner `json:"named"`
}

// TestOf: tag names, Go names without a tag, promoted fields of an
// embedded struct, and neither "-" nor unexported fields.
func TestOf(t *testing.T) {
	_ = outer{}.hidden
	got := Of(reflect.TypeFor[outer]())
	want := map[string]reflect.Type{
		"sink": reflect.TypeFor[string](), "q": reflect.TypeFor[string](), "max": reflect.TypeFor[int](),
		"Plain": reflect.TypeFor[bool](), "named": reflect.TypeFor[inner](),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Of = %v, want %v", got, want)
	}
}

// TestLookup: the exact name wins over one that differs only in case,
// which is found when it is the only match.
func TestLookup(t *testing.T) {
	fields := map[string]reflect.Type{"id": reflect.TypeFor[int](), "ID": reflect.TypeFor[string]()}
	if ft, ok := Lookup(fields, "ID"); !ok || ft != reflect.TypeFor[string]() {
		t.Errorf("Lookup(ID) = %v, %v; want the exact match", ft, ok)
	}
	if ft, ok := Lookup(map[string]reflect.Type{"max": reflect.TypeFor[int]()}, "MAX"); !ok || ft != reflect.TypeFor[int]() {
		t.Errorf("Lookup(MAX) = %v, %v; want max", ft, ok)
	}
	if _, ok := Lookup(fields, "name"); ok {
		t.Error("Lookup(name) found a field")
	}
}
