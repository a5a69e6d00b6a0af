package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of the Standard Webhooks specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a symmetric Standard Webhooks secret.
const secretPrefix = "whsec_"

// Bounds on a decoded secret, from the specification (24 to 64 bytes).
const (
	minSecretLen = 24
	maxSecretLen = 64
)

// ParseSecrets decodes one or more secrets separated by spaces, each
// "whsec_" followed by standard base64 (the prefix may be left out). The
// error never contains a secret, only its position.
func ParseSecrets(s string) ([][]byte, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, errors.New("no secret given")
	}
	keys := make([][]byte, 0, len(fields))
	for i, f := range fields {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f, secretPrefix))
		if err != nil {
			return nil, fmt.Errorf("secret %d of %d is not whsec_ followed by base64", i+1, len(fields))
		}
		if len(key) < minSecretLen || len(key) > maxSecretLen {
			return nil, fmt.Errorf("secret %d of %d decodes to %d bytes, want %d to %d",
				i+1, len(fields), len(key), minSecretLen, maxSecretLen)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// Sign returns the value of the webhook-signature header for a message with
// id, sent at ts, whose request body is body: "v1,<base64 signature>" for
// each key, separated by spaces.
func Sign(keys [][]byte, id string, ts time.Time, body []byte) string {
	var b strings.Builder
	stamp := strconv.FormatInt(ts.Unix(), 10)
	for i, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(stamp))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}

// maxIDLen bounds a delivery id used verbatim as webhook-id.
const maxIDLen = 128

// messageID returns the webhook-id for a delivery id. An id made of
// letters, digits, '_' and '-' is used as is; any other (one with a '.',
// which the specification forbids, or a character unfit for a header) is
// replaced by a digest of it, so that it stays stable across retries. An
// empty id gets a random one: without a delivery id the receiver cannot
// deduplicate retries: callers pass one with sinks.WithDeliveryID.
func messageID(deliveryID string) string {
	switch {
	case deliveryID == "":
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
	case len(deliveryID) <= maxIDLen && isToken(deliveryID):
		return deliveryID
	}
	sum := sha256.Sum256([]byte(deliveryID))
	return "msg_" + base64.RawURLEncoding.EncodeToString(sum[:20])
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
