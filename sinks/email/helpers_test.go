package email_test

import (
	"crypto/tls"
	"encoding/json"
	"strings"
)

func pkiClient(p testPKI) *tls.Config { return &tls.Config{RootCAs: p.roots} }

func json_(s string) json.RawMessage { return json.RawMessage(s) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
