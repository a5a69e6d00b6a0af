package sinks

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSecretValues(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "partner"), []byte("whsec_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DLETTER_TEST_TOKEN", "tok-from-env")
	t.Setenv("DLETTER_TEST_QUERY", "query-from-env")
	t.Setenv("DLETTER_TEST_DIR", dir)
	t.Setenv("DLETTER_TEST_PARTNER", "whsec_fromenv")
	t.Setenv("DLETTER_TEST_HOST", "smtp-internal")
	raw := map[string]any{
		"kind":    "webhook",
		"url":     "https://h.example/hooks/p4th?token=${DLETTER_TEST_QUERY}",
		"headers": map[string]any{"Authorization": "Bearer ${DLETTER_TEST_TOKEN}", "X-Team": "payments"},
		"addr":    "${DLETTER_TEST_HOST}:25",
		"timeout": "15s",
		"recipient_secrets": map[string]any{
			"a.example": map[string]any{"secret_file": "${DLETTER_TEST_DIR}/partner"},
			"b.example": map[string]any{"secret_env": "DLETTER_TEST_PARTNER"},
			"c.example": "whsec_inline",
		},
		"allow_recipient_hosts": []any{"a.example", "b.example"},
	}
	got := SecretValues(raw)
	for _, want := range []string{
		"https://h.example/hooks/p4th?token=query-from-env", "/hooks/p4th", "token=query-from-env", "query-from-env",
		"Bearer tok-from-env", "tok-from-env", "payments",
		"smtp-internal:25", "smtp-internal",
		"whsec_fromfile", "whsec_fromenv", "whsec_inline",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("%q is missing from %q", want, got)
		}
	}
	for _, leave := range []string{"15s", "webhook", "a.example", "${DLETTER_TEST_TOKEN}", "Bearer ${DLETTER_TEST_TOKEN}"} {
		if slices.Contains(got, leave) {
			t.Errorf("%q is not a secret: %q", leave, got)
		}
	}
	for i := 1; i < len(got); i++ {
		if len(got[i]) > len(got[i-1]) {
			t.Fatalf("not longest first: %q", got)
		}
	}
}
