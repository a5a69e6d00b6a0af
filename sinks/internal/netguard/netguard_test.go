package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want string // "" for a public address
	}{
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fec0::1", "private"},
		{"64:ff9b:1::a00:1", "private"},
		{"fc00::1", "unique-local"},
		{"fd00:ec2::254", "unique-local"}, // AWS's IPv6 metadata service
		{"100.64.0.1", "shared (carrier-grade NAT)"},
		{"100.100.100.200", "shared (carrier-grade NAT)"}, // Alibaba Cloud's metadata service
		{"100.127.255.255", "shared (carrier-grade NAT)"},
		{"169.254.169.254", "link-local"}, // the cloud metadata service
		{"169.254.0.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"192.0.0.170", "reserved"},
		{"198.18.0.1", "reserved"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "reserved"},
		// IPv4 inside IPv6.
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::127.0.0.1", "loopback"},
		{"::a9fe:a9fe", "link-local"},
		{"64:ff9b::a9fe:a9fe", "link-local"},
		{"64:ff9b::7f00:1", "loopback"},
		{"2002:7f00:1::1", "loopback"},
		{"2002:a00:1::", "private"},
		// Public.
		{"8.8.8.8", ""},
		{"93.184.215.14", ""},
		{"172.15.255.255", ""},
		{"172.32.0.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.1", ""},
		{"169.253.255.255", ""},
		{"2606:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
	} {
		ip := netip.MustParseAddr(tc.addr)
		if got := Kind(ip); got != tc.want {
			t.Errorf("Kind(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	if got := Kind(netip.Addr{}); got != "invalid" {
		t.Errorf("Kind(zero) = %q", got)
	}
}

func TestControl(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1:80":          true,
		"[::1]:443":             true,
		"[::ffff:127.0.0.1]:80": true,
		"169.254.169.254:80":    true,
		"[fe80::1%eth0]:80":     true,
		"localhost:80":          true, // not an address: refused, never resolved here
		"":                      true,
		"8.8.8.8:53":            false,
		"[2606:4700::1111]:443": false,
	} {
		err := Control("tcp", addr, nil)
		if (err != nil) != refused {
			t.Errorf("Control(%q) = %v, want refused %v", addr, err, refused)
			continue
		}
		if err == nil {
			continue
		}
		var ae *AddressError
		if !errors.Is(err, ErrForbidden) || !errors.As(err, &ae) || ae.Transient() {
			t.Errorf("Control(%q) = %#v", addr, err)
		}
		if strings.Contains(err.Error(), strings.Trim(strings.Split(addr, "]")[0], "[")) && addr != "" {
			t.Errorf("the error names the address: %v", err)
		}
	}
}

// FuzzControl: Control never panics; it lets an address through only when
// it parses and is public; and an IPv4 address is judged the same whether
// it is dialled as such or inside an IPv6 address.
func FuzzControl(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "[::ffff:169.254.169.254]:80", "[fe80::1%25eth0]:1", "8.8.8.8:53", "[64:ff9b::a00:1]:80", ":80", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, address string) {
		err := Control("tcp", address, nil)
		ap, perr := netip.ParseAddrPort(address)
		if err == nil && (perr != nil || Kind(ap.Addr()) != "") {
			t.Fatalf("Control(%q) let a non-public address through", address)
		}
		if perr != nil || !ap.Addr().Is4() {
			return
		}
		v4 := ap.Addr()
		b := v4.As4()
		mapped := netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
		nat := netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
		if (Kind(v4) == "") != (Kind(mapped) == "") || (Kind(v4) == "") != (Kind(nat) == "") {
			t.Fatalf("%s: %q, mapped %q, NAT64 %q", v4, Kind(v4), Kind(mapped), Kind(nat))
		}
	})
}
