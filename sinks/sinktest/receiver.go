package sinktest

import (
	"testing"
	"time"
)

// Target is where the sink under test must deliver: newSink aims the sink
// at it.
type Target struct {
	// URL is the receiver's URL, for HTTP sinks. It holds Secret.
	URL string
	// Addr is the host:port the receiver listens on (127.0.0.1).
	Addr string
	// Secret is the credential the sink must be configured with (a token, a
	// password), when the protocol has one: the suite checks that no error
	// shows it.
	Secret string
}

// Outcome is how a Receiver answers a delivery.
type Outcome int

// The outcomes a Receiver gives.
const (
	// Accept takes the delivery (HTTP 200 "ok", SMTP 250).
	Accept Outcome = iota
	// Transient refuses it for now (HTTP 503, SMTP 451).
	Transient
	// Terminal refuses it for good (HTTP 400, SMTP 550).
	Terminal
	// Hold keeps the sender waiting for an answer until it gives up or the
	// test ends.
	Hold
)

// Answer is how a Receiver answers the deliveries that reach it.
type Answer struct {
	Outcome Outcome
	// RetryAfter, with Transient, is the retry hint the far end gives
	// (HTTP Retry-After in seconds).
	RetryAfter time.Duration
}

// Delivery is what a Receiver received.
type Delivery struct {
	// To says where the delivery was addressed: the request's path and
	// query for HTTP, the envelope recipients for SMTP. Two deliveries to
	// the same place have the same To.
	To string
	// Raw is all that arrived (request line, headers and body; the SMTP
	// message), searched for the delivery id.
	Raw string
}

// Receiver is the far end of a sink, which the suite controls. Its methods
// are called from the test's goroutine; Next may be called while sends are
// in flight.
type Receiver interface {
	// Target says where the sink must deliver.
	Target() Target
	// Answer sets how the receiver answers the deliveries that arrive from
	// now on. It returns false when its protocol cannot give a (an SMTP
	// server has no Retry-After); the suite then skips that check.
	Answer(a Answer) bool
	// Next returns the next delivery that reached the receiver, whatever it
	// answered, and fails t when none arrives within a few seconds.
	Next(t testing.TB) Delivery
	// Close stops the receiver, so that connections to Target are refused.
	// It is idempotent; the receiver is also closed when the test ends.
	Close()
}

// waitFor bounds how long the suite waits for something that should
// happen at once: a delivery, or a Send to return after a cancel.
const waitFor = 5 * time.Second
