// Package netguard keeps the connections a sink makes on behalf of an
// outside caller (a per-call recipient URL) away from this machine and the
// networks behind it: loopback, private, shared, link-local (where cloud
// metadata services answer) and other non-public addresses.
//
// The check belongs in the dialer (net.Dialer.Control), after name
// resolution: a host name that is allowed can still resolve to any address,
// and checking the name would leave DNS answers and redirects unchecked.
package netguard

import (
	"errors"
	"net/netip"
	"syscall"
)

// ErrForbidden matches every *AddressError.
var ErrForbidden = errors.New("netguard: address not allowed for a per-call recipient")

// AddressError is a refused dial. Its text names the kind of address but
// not the address, which an outside caller would otherwise learn.
type AddressError struct {
	// Addr is the address that was refused; invalid when the dialled
	// address did not parse.
	Addr netip.Addr
	// Kind says what Addr is, such as "loopback".
	Kind string
}

// Error says what kind of address was refused.
func (e *AddressError) Error() string {
	return "the host resolves to an address that per-call recipients may not reach (" + e.Kind + ")"
}

// Is makes an *AddressError match ErrForbidden.
func (e *AddressError) Is(target error) bool { return target == ErrForbidden }

// Transient reports false: the same name will resolve the same way.
func (e *AddressError) Transient() bool { return false }

// Prefixes that the netip.Addr predicates do not cover.
var (
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")
	shared       = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT; some clouds' metadata
	ietfProtocol = netip.MustParsePrefix("192.0.0.0/24")
	benchmarking = netip.MustParsePrefix("198.18.0.0/15")
	reserved4    = netip.MustParsePrefix("240.0.0.0/4") // and the broadcast address
	siteLocal6   = netip.MustParsePrefix("fec0::/10")
	compat6      = netip.MustParsePrefix("::/96")          // IPv4-compatible (deprecated)
	nat64        = netip.MustParsePrefix("64:ff9b::/96")   // well-known NAT64
	nat64Local   = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64
	sixToFour    = netip.MustParsePrefix("2002::/16")
)

// Kind returns what kind of non-public address ip is ("loopback",
// "private", "link-local", ...), or "" when a per-call recipient may reach
// it. An IPv4 address carried inside an IPv6 one (mapped, compatible,
// well-known NAT64, 6to4) is judged as that IPv4 address; local-use NAT64
// (64:ff9b:1::/48) is private.
func Kind(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.WithZone("")
	if v4, ok := embeddedIPv4(ip); ok {
		ip = v4
	}
	switch {
	case ip.IsUnspecified(), thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.Is6() && ip.IsPrivate():
		return "unique-local"
	case ip.IsPrivate(), siteLocal6.Contains(ip), nat64Local.Contains(ip):
		return "private"
	case shared.Contains(ip):
		return "shared (carrier-grade NAT)"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ietfProtocol.Contains(ip), benchmarking.Contains(ip), reserved4.Contains(ip):
		return "reserved"
	}
	return ""
}

// embeddedIPv4 returns the IPv4 address that ip carries in one of the
// IPv6 forms that reach it.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	if ip.Is4In6() {
		return ip.Unmap(), true
	}
	b := ip.As16()
	switch {
	case compat6.Contains(ip) && !ip.IsUnspecified() && !ip.IsLoopback(),
		nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Control is a net.Dialer Control function: it refuses, before the
// connection is attempted, an address that Kind reports as non-public. An
// address that does not parse as ip:port is refused too.
func Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &AddressError{Kind: "malformed"}
	}
	if kind := Kind(ap.Addr()); kind != "" {
		return &AddressError{Addr: ap.Addr(), Kind: kind}
	}
	return nil
}
