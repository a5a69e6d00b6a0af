package linereader

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, r *Reader) (lines []string, tail string, tailErr error) {
	t.Helper()
	for {
		line, err := r.Next()
		switch {
		case err == nil:
			lines = append(lines, string(line))
		case err == io.EOF:
			return lines, tail, tailErr
		default:
			if tailErr != nil {
				t.Fatalf("second error %v after %v", err, tailErr)
			}
			tail, tailErr = string(line), err
		}
	}
}

func TestNextLinesLongerThanBuffer(t *testing.T) {
	giant := strings.Repeat("x", 1<<20)
	in := "a\n\n" + giant + "\nb\n"
	for _, size := range []int{1, 3, 16, 0} {
		r := New(iotest.OneByteReader(strings.NewReader(in)), size)
		if size == 0 {
			r = New(strings.NewReader(in), 0)
		}
		lines, _, tailErr := readAll(t, r)
		if tailErr != nil {
			t.Fatalf("size %d: unexpected tail error %v", size, tailErr)
		}
		want := []string{"a", "", giant, "b"}
		if len(lines) != len(want) {
			t.Fatalf("size %d: got %d lines, want %d", size, len(lines), len(want))
		}
		for i := range want {
			if lines[i] != want[i] {
				t.Fatalf("size %d: line %d differs (len %d, want %d)", size, i, len(lines[i]), len(want[i]))
			}
		}
		if r.Lines() != 4 {
			t.Fatalf("Lines = %d, want 4", r.Lines())
		}
	}
}

func TestNextUnterminatedTail(t *testing.T) {
	r := New(strings.NewReader("one\ntwo\ntor"), 4)
	lines, tail, err := readAll(t, r)
	if !errors.Is(err, ErrUnterminated) || tail != "tor" {
		t.Fatalf("tail = %q, %v; want \"tor\", ErrUnterminated", tail, err)
	}
	if len(lines) != 2 || lines[1] != "two" {
		t.Fatalf("lines = %q", lines)
	}
	if r.Offset() != 8 {
		t.Fatalf("Offset = %d, want 8", r.Offset())
	}
}

func TestOffsets(t *testing.T) {
	in := "aa\nbbbb\n\nc\n"
	r := New(strings.NewReader(in), 2)
	var got []int64
	for {
		_, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, r.Offset())
	}
	want := []int64{0, 3, 8, 9}
	if len(got) != len(want) {
		t.Fatalf("offsets %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offsets %v, want %v", got, want)
		}
	}
}

func TestReadErrorAfterLines(t *testing.T) {
	boom := errors.New("boom")
	r := New(io.MultiReader(strings.NewReader("x\ny"), iotest.ErrReader(boom)), 0)
	if line, err := r.Next(); err != nil || string(line) != "x" {
		t.Fatalf("got %q, %v", line, err)
	}
	if line, err := r.Next(); !errors.Is(err, boom) || string(line) != "y" {
		t.Fatalf("got %q, %v; want \"y\", boom", line, err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

func BenchmarkNext(b *testing.B) {
	line := append(bytes.Repeat([]byte("x"), 120), '\n')
	data := bytes.Repeat(line, 10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := New(bytes.NewReader(data), 0)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
