package server_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
)

// TestBodyFieldsNamedAsInJSON: for every field of every request body, a
// value of the wrong type is a 400 whose field is the field's JSON name,
// never the Go name of a struct it is embedded from ("FilterParams.sink"),
// and never a 400 without a field.
func TestBodyFieldsNamedAsInJSON(t *testing.T) {
	e := setup(t, setupOpts{})
	for _, c := range []struct {
		paths []string
		body  any
	}{
		{[]string{"/v1/sinks/hook/messages"}, api.SendRequest{}},
		{[]string{"/v1/dlq/redrive", "/v1/dlq/discard"}, api.SelectRequest{}},
	} {
		for _, f := range reflect.VisibleFields(reflect.TypeOf(c.body)) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous || name == "" || name == "-" {
				continue
			}
			wrong := `"text"`
			if f.Type.Kind() == reflect.String || f.Type == reflect.TypeFor[json.RawMessage]() {
				wrong = `5` // a recipient is any JSON: a number is one no sink takes
			}
			for _, path := range c.paths {
				body := `{"` + name + `":` + wrong + `}`
				r := e.do("POST", path, body)
				var er api.Error
				r.json(t, &er)
				if r.status != http.StatusBadRequest || er.Field != name || !strings.Contains(er.Error, `"`+name+`"`) {
					t.Errorf("POST %s %s: %d %s, want 400 naming %q", path, body, r.status, r.body, name)
				}
			}
		}
	}
}

// TestRecipientNamed: a recipient the sink cannot read is a 400 naming
// recipient and the value, sent synchronously or queued.
func TestRecipientNamed(t *testing.T) {
	e := setup(t, setupOpts{})
	for _, body := range []string{`{"recipient":5}`, `{"recipient":{"url":5}}`, `{"recipient":[1],"async":true}`} {
		r := e.do("POST", "/v1/sinks/hook/messages", body)
		var er api.Error
		r.json(t, &er)
		var req api.SendRequest
		_ = json.Unmarshal([]byte(body), &req)
		if r.status != http.StatusBadRequest || er.Field != "recipient" || !strings.Contains(er.Error, "(got "+strconv.Quote(string(req.Recipient))+")") {
			t.Errorf("POST %s: %d %s", body, r.status, r.body)
		}
	}
	if n := e.hook.Attempts(); n != 0 {
		t.Errorf("the receiver saw %d requests", n)
	}
}

// TestRedriveEmptyFilterSelectsAll: a redrive with an empty filter selects
// every item without "all" (it removes only what it delivers), and takes
// "all" without effect; a discard with an empty filter wants "all".
func TestRedriveEmptyFilterSelectsAll(t *testing.T) {
	e := setup(t, setupOpts{})
	e.park("hook", "one")
	e.park("other", "two")
	for _, body := range []string{`{"dry_run":true}`, `{"dry_run":true,"all":true}`} {
		var ans struct{ Matched int }
		r := e.do("POST", "/v1/dlq/redrive", body)
		r.json(t, &ans)
		if r.status != http.StatusOK || ans.Matched != 2 {
			t.Errorf("redrive %s: %d %s, want both items", body, r.status, r.body)
		}
	}
	if r := e.do("POST", "/v1/dlq/discard", `{"dry_run":true}`); r.status != http.StatusBadRequest {
		t.Errorf("discard without all: %d %s", r.status, r.body)
	}
}
