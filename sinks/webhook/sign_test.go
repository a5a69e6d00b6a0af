package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks/webhook"
)

// The test vector of the Standard Webhooks specification's reference
// libraries.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// verify is a receiver's check written from the specification, sharing no
// code with the sink: it accepts the request when one of the space-separated
// v1 signatures is the HMAC-SHA256, keyed with the base64 part of secret, of
// "id.timestamp.body".
func verify(secret, id, timestamp, signatures string, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, timestamp, body)
	want := mac.Sum(nil)
	for _, sig := range strings.Split(signatures, " ") {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no valid v1 signature in %q", signatures)
}

func TestVerifierAgainstSpecVector(t *testing.T) {
	if err := verify(vectorSecret, vectorID, fmt.Sprint(vectorTimestamp), vectorSignature, []byte(vectorPayload)); err != nil {
		t.Fatal(err)
	}
	// One changed byte anywhere must fail.
	if verify(vectorSecret, vectorID, fmt.Sprint(vectorTimestamp+1), vectorSignature, []byte(vectorPayload)) == nil {
		t.Fatal("verifier accepted a changed timestamp")
	}
	if verify(vectorSecret, vectorID, fmt.Sprint(vectorTimestamp), vectorSignature, []byte(vectorPayload+" ")) == nil {
		t.Fatal("verifier accepted a changed body")
	}
}

func TestSignMatchesSpecVector(t *testing.T) {
	keys, err := webhook.ParseSecrets(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign(keys, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if got != vectorSignature {
		t.Fatalf("Sign = %q, want %q", got, vectorSignature)
	}
	// Without the prefix the secret is the same key.
	keys, err = webhook.ParseSecrets(strings.TrimPrefix(vectorSecret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	if got := webhook.Sign(keys, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload)); got != vectorSignature {
		t.Fatalf("Sign without prefix = %q, want %q", got, vectorSignature)
	}
}

func TestSignRotation(t *testing.T) {
	second := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-32-bytes-long!"))
	keys, err := webhook.ParseSecrets(vectorSecret + "  " + second)
	if err != nil {
		t.Fatal(err)
	}
	sig := webhook.Sign(keys, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	parts := strings.Split(sig, " ")
	if len(parts) != 2 || parts[0] != vectorSignature {
		t.Fatalf("Sign = %q, want the vector's signature then a second one", sig)
	}
	for _, secret := range []string{vectorSecret, second} {
		if err := verify(secret, vectorID, fmt.Sprint(vectorTimestamp), parts[1]+" "+parts[0], []byte(vectorPayload)); err != nil {
			t.Errorf("secret %s...: %v", secret[:10], err)
		}
	}
}

func TestParseSecretsErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"   ",
		"whsec_not base64!",
		"whsec_c2hvcnQ=", // "short": 5 bytes
		vectorSecret + " whsec_%%%",
		"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)),
	} {
		_, err := webhook.ParseSecrets(s)
		if err == nil {
			t.Errorf("ParseSecrets(%q) succeeded", s)
			continue
		}
		for _, f := range strings.Fields(s) {
			if f = strings.TrimPrefix(f, "whsec_"); len(f) >= 4 && strings.Contains(err.Error(), f) {
				t.Errorf("ParseSecrets(%q) error %q shows the secret", s, err)
			}
		}
	}
}
