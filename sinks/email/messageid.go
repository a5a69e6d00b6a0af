package email

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxIDLocal bounds the part of a Message-ID made from a delivery id; a
// longer encoding is replaced by a digest of the id.
const maxIDLocal = 128

// messageID returns the Message-ID (without angle brackets) for a delivery
// id: "dletter.<local>@<domain>", where local is a dot-atom (RFC 5322
// section 3.2.3) for any delivery id, so that strict parsers accept it.
// The same id gives the same Message-ID, so a message retried or replayed
// keeps its identity; distinct ids give distinct ones; no id gives a random
// one.
//
// local is the id itself when it is made of letters, digits, '-' and '_'
// with single dots between them (a UUID, "order.42"). Any other byte,
// '=' included, is written as "=XX" (upper-case hex), and so is a dot that
// would lead, trail or repeat: "order..42." becomes "order=2E=2E42=2E".
// Since '=' is always followed by two hex digits there, the encoding reads
// back unambiguously, and "=H" (a digest of an id whose encoding is over
// maxIDLocal bytes) and "=R" (random) cannot clash with it.
func messageID(deliveryID, domain string) string {
	var local string
	switch {
	case deliveryID == "":
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		local = "=R" + hex.EncodeToString(raw[:])
	default:
		local = encodeIDLocal(deliveryID)
		if len(local) > maxIDLocal {
			sum := sha256.Sum256([]byte(deliveryID))
			local = "=H" + hex.EncodeToString(sum[:])
		}
	}
	if !isDotAtom(domain) {
		domain = "dletter.invalid"
	}
	return "dletter." + local + "@" + domain
}

// encodeIDLocal writes id as a dot-atom, escaping as messageID describes.
func encodeIDLocal(id string) string {
	const upperHex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(id))
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case isIDByte(c):
			b.WriteByte(c)
		case c == '.' && i > 0 && i < len(id)-1 && id[i-1] != '.' && id[i+1] != '.':
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0xf])
		}
	}
	return b.String()
}

// isIDByte reports whether c is kept as it is in a Message-ID: a letter, a
// digit, '-' or '_'.
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// isDotAtom reports whether s is letters, digits, '-' and '_' in atoms
// joined by single dots, with no dot at either end: a safe Message-ID
// domain.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isIDByte(c) && (c != '.' || s[i-1] == '.') {
			return false
		}
	}
	return true
}
