package display

import "testing"

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 failed replays", 1: "1 failed replay", 2: "2 failed replays", 21: "21 failed replays"} {
		if got := Count(n, "failed replay", "failed replays"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
