package sinks_test

import (
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/dlqtest"
)

func TestMemoryDLQConformance(t *testing.T) {
	dlqtest.Run(t, func(t *testing.T) sinks.Store {
		m := sinks.NewMemoryDLQ(sinks.WithMaxItems(-1))
		t.Cleanup(func() { _ = m.Close() })
		return m
	})
}

func TestZeroMemoryDLQConformance(t *testing.T) {
	dlqtest.Run(t, func(t *testing.T) sinks.Store { return new(sinks.MemoryDLQ) })
}
