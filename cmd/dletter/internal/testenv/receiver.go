// Package testenv gives the daemon's tests the module's shared test
// receiver (see internal/testenv).
package testenv

import "github.com/dletter/dletter/internal/testenv"

// Receiver is testenv.Receiver of the module.
type Receiver = testenv.Receiver

// NewReceiver starts a receiver, closed when the test ends.
var NewReceiver = testenv.NewReceiver
