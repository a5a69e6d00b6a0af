// Package testenv gives the daemon's tests the module's shared test
// receiver and CA (see internal/testenv), and a client of the console.
package testenv

import "github.com/dletter/dletter/internal/testenv"

// Receiver is testenv.Receiver of the module.
type Receiver = testenv.Receiver

// NewReceiver starts a receiver, closed when the test ends.
var NewReceiver = testenv.NewReceiver

// CA is testenv.CA of the module.
type CA = testenv.CA

// NewCA makes a CA for a test.
var NewCA = testenv.NewCA

// WriteFile writes a file with mode 0600, failing the test on error.
var WriteFile = testenv.WriteFile

// WaitFor is testenv.WaitFor of the module: it polls a condition that real
// I/O makes true, failing the test after 30 seconds.
var WaitFor = testenv.WaitFor

// WaitWithin is testenv.WaitWithin of the module: WaitFor with a deadline
// of its own.
var WaitWithin = testenv.WaitWithin

// Buffer is testenv.Buffer of the module: a buffer goroutines may write
// and read at once.
type Buffer = testenv.Buffer
