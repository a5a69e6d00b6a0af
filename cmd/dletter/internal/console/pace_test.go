package console

import (
	"errors"
	"net/url"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/relay"
)

// TestRedrivePaceRate: the redrive form takes the rates the API takes and
// refuses, naming the rate, what a redrive would not pace (not a number,
// or slower than one item a day).
func TestRedrivePaceRate(t *testing.T) {
	for in, want := range map[string]float64{"": 0, "0": 0, "5": 5, "0.5": 0.5} {
		if opts, err := redrivePace(url.Values{"rate": {in}}); err != nil || opts.Rate != want {
			t.Errorf("rate %q: %v, %v; want %v", in, opts.Rate, err, want)
		}
	}
	for _, in := range []string{"NaN", "1e-300", "0.00001", "-1", "Inf", "five"} {
		_, err := redrivePace(url.Values{"rate": {in}})
		var fe *relay.FieldError
		if !errors.As(err, &fe) || fe.Field != "rate" || fe.Value == "" {
			t.Errorf("rate %q: %v, want a FieldError naming rate and the value", in, err)
		}
	}
}
