package dletter

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedFiles damages a retry log the ways crashes and disks do, then
// checks that it opens, repairs itself, keeps the evidence in the quarantine
// file, accepts new items, reopens again and replays every intact item.
func TestDamagedFiles(t *testing.T) {
	const n = 10
	cases := []struct {
		name        string
		damage      func(t *testing.T, data []byte, starts []int) []byte
		lost        []int // items whose lines the damage destroyed
		quarantined int   // lines in the quarantine file afterwards
	}{
		{
			name: "truncated in the middle of a line",
			damage: func(t *testing.T, data []byte, starts []int) []byte {
				return data[:starts[7]+10]
			},
			lost: []int{7, 8, 9}, quarantined: 1,
		},
		{
			name: "torn tail",
			damage: func(t *testing.T, data []byte, starts []int) []byte {
				return append(data, `{"ts":1700000000,"attempt":1,"rea`...)
			},
			quarantined: 1,
		},
		{
			name: "garbage line",
			damage: func(t *testing.T, data []byte, starts []int) []byte {
				return splice(data, starts[4], []byte("%%% not json %%%\n"))
			},
			quarantined: 1,
		},
		{
			name: "giant garbage line",
			damage: func(t *testing.T, data []byte, starts []int) []byte {
				return splice(data, starts[4], append(bytes.Repeat([]byte("{["), 2<<20), '\n'))
			},
			quarantined: 1,
		},
		{
			name: "zeroed block inside a line",
			damage: func(t *testing.T, data []byte, starts []int) []byte {
				for i := starts[3] + 5; i < starts[4]-1; i++ {
					data[i] = 0
				}
				return data
			},
			lost: []int{3}, quarantined: 1,
		},
		{
			name: "zeroed block at the end (delayed allocation after a crash)",
			damage: func(t *testing.T, data []byte, starts []int) []byte {
				return append(data, make([]byte, 4096)...)
			},
			quarantined: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t)
			logN(t, b.l, 0, n, 1)
			if err := b.l.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(b.path)
			if err != nil {
				t.Fatal(err)
			}
			starts := []int{0}
			for i, c := range data {
				if c == '\n' && i+1 < len(data) {
					starts = append(starts, i+1)
				}
			}
			if err := os.WriteFile(b.path, tc.damage(t, data, starts), 0o644); err != nil {
				t.Fatal(err)
			}

			b.l = b.open(t) // repairs
			logN(t, b.l, n, 2, 1)
			b.reopen(t) // a repaired log reopens cleanly
			c := &collector{}
			replayAll(t, b.l, c, ReplayOptions{})
			want := wantIDs(0, n+2)
			for _, i := range tc.lost {
				want = remove(want, id(i))
			}
			if !equal(c.got(), want) {
				t.Fatalf("delivered %v\nwant      %v", c.got(), want)
			}
			q := filepath.Join(b.dir, "quarantine-orders.log")
			if got := len(lines(t, q)); got != tc.quarantined {
				t.Fatalf("quarantine holds %d lines, want %d", got, tc.quarantined)
			}
			if st, err := b.l.Stats(); err != nil || st.Quarantined != int64(tc.quarantined) {
				t.Fatalf("Stats = %+v, %v", st, err)
			}
		})
	}
}

func splice(data []byte, at int, ins []byte) []byte {
	out := append([]byte(nil), data[:at]...)
	out = append(out, ins...)
	return append(out, data[at:]...)
}

func remove(s []string, v string) []string {
	var out []string
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// A torn tail is reported on open, not silently repaired.
func TestRepairIsReported(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 1, 1)
	_ = b.l.Close()
	f, _ := os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.WriteString(`{"ts":`)
	_ = f.Close()
	b.l = b.open(t)
	if !strings.Contains(b.logs.String(), "torn last line") {
		t.Fatalf("repair not reported: %s", b.logs)
	}
}
