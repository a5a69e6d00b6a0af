// Package endpoint holds small facts about the targets of the reference
// sinks that more than one of them needs.
package endpoint

import (
	"net"
)

// IsLoopback reports whether host (a name or an IP address, without port)
// is this machine: "localhost" or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
