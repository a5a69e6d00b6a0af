package dlqtest

import (
	"context"
	"errors"
	"testing"

	"github.com/dletter/dletter/sinks"
)

func testClose(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st := newStore(t)
	id := add(t, st, item("hook", 1))
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := st.Push(ctx, item("hook", 2)); !errors.Is(err, sinks.ErrClosed) {
		t.Errorf("Push after Close = %v, want ErrClosed", err)
	}
	if _, err := st.Get(ctx, id); !errors.Is(err, sinks.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if _, err := st.Count(ctx, ""); !errors.Is(err, sinks.ErrClosed) {
		t.Errorf("Count after Close = %v, want ErrClosed", err)
	}
	if _, err := st.Items(ctx, "", 1); !errors.Is(err, sinks.ErrClosed) {
		t.Errorf("Items after Close = %v, want ErrClosed", err)
	}
}
