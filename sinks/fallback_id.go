package sinks

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// The IDs of FallbackDLQ
//
// An item in the primary has the primary's ID. An item in the local store
// has "local:<id>.<tag>": the local store's ID, then 8 hex digits of a hash
// of the item's sink and At, which no update changes. The ID handed out
// while the primary was down keeps working after the item moved: the mover
// records it as an alias of the item's new ID in the primary (AliasStore),
// and the tag makes it name this item alone, although another process's
// local store, or this one after a restart, hands out the same local ID to
// another item. A bare local ID ("7", as FallbackDLQ handed out before)
// still names the local item while it is there.

// localIDPrefix starts the IDs of items in a FallbackDLQ's local store.
const localIDPrefix = "local:"

// localTagLen is the length of the tag of a local ID, in hex digits.
const localTagLen = 8

// formatLocalID returns the FallbackDLQ ID of it, an item of the local
// store (it.ID is its local ID).
func formatLocalID(it DLQItem) string {
	return localIDPrefix + it.ID + "." + localTag(it)
}

// localTag is a hash of the sink and At of it, which no update changes.
func localTag(it DLQItem) string {
	return hex.EncodeToString(itemHash(it)[:localTagLen/2])
}

// itemHash is the SHA-256 of the sink and At of it, then of more fields,
// each string preceded by its length.
func itemHash(it DLQItem, more ...string) []byte {
	h := sha256.New()
	var b [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write([]byte(s))
	}
	field(it.Sink)
	binary.BigEndian.PutUint64(b[:], uint64(it.At.UnixNano()))
	h.Write(b[:])
	for _, s := range more {
		field(s)
	}
	return h.Sum(nil)
}

// parseLocalID splits a FallbackDLQ local ID into the local store's ID and
// the tag. It accepts exactly what formatLocalID makes of a non-empty local
// ID: the prefix, the ID, a dot, and 8 lowercase hex digits.
func parseLocalID(id string) (localID, tag string, ok bool) {
	rest, found := strings.CutPrefix(id, localIDPrefix)
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || len(rest)-i-1 != localTagLen {
		return "", "", false
	}
	localID, tag = rest[:i], rest[i+1:]
	for j := 0; j < len(tag); j++ {
		if c := tag[j]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", false
		}
	}
	return localID, tag, true
}
