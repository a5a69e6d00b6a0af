package sinks

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The key layout of RedisDLQ, for prefix P and sink S:
//
//	P:dlq:S               the sink's stream (one entry per item, field "item")
//	{P:dlq:S}:updates     hash: stream id -> the item as last updated by Update
//	{P:dlq:S}:counters    hash: "discarded" (items removed by Discard), "prune_at"
//	{P:dlq:S}:once:H      string: the stream id of the item added with AddOnce
//	                      key K, where H is a hash of K
//	{P:dlq:S}:lease:I     string: the lease on the item of stream id I,
//	                      "<token> <holder>", with the lease's TTL
//	P:dlq-sinks           set: every sink that ever had an item
//	P:dlq-alias:A         string: the ID that alias A names (SetAlias), with
//	                      its TTL; a key of its own, in its own slot
//
// The companion keys in braces hash to the stream's own Redis Cluster slot,
// so a script may touch the stream and its companions together. When the
// stream key itself holds braces (a prefix or sink name with "{" or "}"),
// the companions start with a short tag of the same slot, then the kind,
// then the stream key; see redisCompanionKey.

// redisKeys names the keys of one sink.
type redisKeys struct {
	stream, updates, counters string
}

func (d *RedisDLQ) keys(sink string) redisKeys {
	stream := d.streamKey(sink)
	return redisKeys{
		stream:   stream,
		updates:  redisCompanionKey(stream, "updates"),
		counters: redisCompanionKey(stream, "counters"),
	}
}

// onceKey hashes key so that the kind part of the name has a fixed shape
// and any key, however long or odd, makes a short unambiguous name.
func (d *RedisDLQ) onceKey(sink, key string) string {
	sum := sha256.Sum256([]byte(key))
	return redisCompanionKey(d.streamKey(sink), "once:"+hex.EncodeToString(sum[:16]))
}

// leaseKey is the key of the lease on one item, in its stream's slot, so
// that the discard script can check it.
func (d *RedisDLQ) leaseKey(sink, streamID string) string {
	return redisCompanionKey(d.streamKey(sink), "lease:"+streamID)
}

func (d *RedisDLQ) streamKey(sink string) string { return d.prefix + ":dlq:" + sink }

func (d *RedisDLQ) sinksKey() string { return d.prefix + ":dlq-sinks" }

func (d *RedisDLQ) aliasKey(alias string) string { return d.prefix + ":dlq-alias:" + alias }

// redisCompanionKey returns a key named after stream and kind that lives in the
// same Redis Cluster hash slot as stream.
func redisCompanionKey(stream, kind string) string {
	if !strings.ContainsAny(stream, "{}") {
		// "{stream}" hashes exactly the text of stream.
		return "{" + stream + "}:" + kind
	}
	return "{" + redisSlotTag(redisKeySlot(stream)) + "}" + kind + ":" + stream
}

// redisKeySlot is Redis Cluster's HASH_SLOT: CRC16 (XMODEM) of the key, or of its
// hash tag (the text between the first "{" and the first "}" after it, when
// not empty), modulo 16384.
func redisKeySlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return redisCRC16(key) % 16384
}

var redisCRC16Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func redisCRC16(s string) uint16 {
	var c uint16
	for i := 0; i < len(s); i++ {
		c = c<<8 ^ redisCRC16Table[byte(c>>8)^s[i]]
	}
	return c
}

// redisSlotTags[slot] is the shortest decimal number that hashes to slot; built
// on first use (a few hundred thousand CRCs, once per process).
var redisSlotTags = sync.OnceValue(func() []string {
	tags := make([]string, 16384)
	left := len(tags)
	for n := 0; left > 0; n++ {
		s := strconv.Itoa(n)
		if slot := redisCRC16(s) % 16384; tags[slot] == "" {
			tags[slot] = s
			left--
		}
	}
	return tags
})

func redisSlotTag(slot uint16) string { return redisSlotTags()[slot] }

// A RedisDLQ ID is "<sink>:<ms>-<seq>": the sink, then the entry's stream ID
// in its canonical form. The sink may itself contain ":"; the stream ID
// never does, so the ID splits at its last ":".

func formatRedisID(sink, streamID string) string { return sink + ":" + streamID }

// parseRedisID splits id into its sink and stream ID. It accepts only what
// formatRedisID produces for a valid sink: a stream ID such as "01-2" or
// "1-2x", which Redis would read differently or refuse, is not an ID.
func parseRedisID(id string) (sink, streamID string, ok bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", "", false
	}
	sink, streamID = id[:i], id[i+1:]
	if redisSinkNameProblem(sink) != "" {
		return "", "", false
	}
	if _, _, ok := parseRedisStreamID(streamID); !ok {
		return "", "", false
	}
	return sink, streamID, true
}

// parseRedisStreamID parses a canonical "<ms>-<seq>" (decimal, no sign, no
// leading zeros, each within uint64).
func parseRedisStreamID(s string) (ms, seq uint64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	ms, okA := parseRedisUint(a)
	seq, okB := parseRedisUint(b)
	return ms, seq, okA && okB
}

func parseRedisUint(s string) (uint64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// redisSinkNameProblem returns why name cannot be a sink's name, or "" when it can:
// it must be non-empty valid UTF-8 of at most 256 bytes without control
// characters (which keeps every key and ID printable).
func redisSinkNameProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > 256:
		return "is longer than 256 bytes"
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}
