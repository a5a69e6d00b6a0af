package sinks

import (
	"encoding/hex"
	"math/rand/v2"
)

// NewDeliveryID returns a fresh random delivery id in the form of a version 4
// UUID, such as "9f1c4e1a-3b2d-4c6e-8f00-1a2b3c4d5e6f". A Retrier mints one
// for a message whose context carries none (see WithDeliveryID).
func NewDeliveryID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
