package sinks

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// escapedJSON is the JSON of it with its text (LastError, Subject, Body)
// written with every character escaped as \uXXXX (surrogate pairs above
// U+FFFF): valid JSON that another writer could have produced, whose
// strings hold no byte of their text.
func escapedJSON(t *testing.T, it DLQItem) []byte {
	t.Helper()
	texts := []string{it.LastError, it.Message.Subject, it.Message.Body}
	it.LastError, it.Message.Subject, it.Message.Body = "@0@", "@1@", "@2@"
	raw, _, err := encodeItem("test", it)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		esc := []byte{'"'}
		for _, r := range text { // invalid UTF-8 as U+FFFD, as encoding/json writes it
			esc = appendUEscape(esc, r)
		}
		raw = bytes.Replace(raw, fmt.Appendf(nil, `"@%d@"`, i), append(esc, '"'), 1)
	}
	return raw
}

func appendUEscape(dst []byte, r rune) []byte {
	if r > 0xffff {
		r -= 0x10000
		return fmt.Appendf(dst, `\u%04x\u%04X`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
	}
	return fmt.Appendf(dst, `\u%04X`, r)
}

// checkNoMiss fails when it matches q and its JSON raw is passed over.
func checkNoMiss(t *testing.T, it DLQItem, raw []byte, q string) {
	t.Helper()
	var back DLQItem
	if err := decodeItem(raw, &back); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if !(Filter{Contains: q}).Match(&back) {
		return
	}
	if !newRawSearch(q).mayMatch(raw) {
		t.Fatalf("q %q matches %+v, but its JSON %s was passed over", q, back.Message, raw)
	}
	// In a block between other items, which may hold the query too.
	before, after := []byte(`{"last_error":"`+q+`"}`+"\n"), []byte("\n"+`{"a":"\u0041`+q+`"}`)
	block := append(append(append([]byte(nil), before...), raw...), after...)
	rs := newRawSearch(q)
	rs.indexBlock(block)
	if !rs.mayMatchIn(block, len(before), len(before)+len(raw)) {
		t.Fatalf("q %q matches %+v, but its JSON %s was passed over in a block", q, back.Message, raw)
	}
}

// The raw test never passes over an item that matches, whatever escapes
// hide the text (those encoding/json writes, and \uXXXX for every
// character), and whatever case folding makes of it (U+212A KELVIN SIGN
// lowers to "k"); and it passes over items that do not match.
func TestRawSearchNeverMissesAMatch(t *testing.T) {
	texts := []string{
		"Kelvin \u212a and \u0130stanbul", "<p>a & b</p>", "line\nbreak \"quoted\" back\\slash a/b",
		"emoji \U0001F600 here", "invalid \xff utf8", "\u2028sep", "ORDER 42 Paid", "tab\there\b\f\x01",
	}
	queries := []string{"k", "i", "<p>", "a & b", "\n", `"quoted"`, `\slash`, "a/b", "\U0001F600", "\ufffd",
		"\u2028", "order 42", "ORDER 42 PAID", "\t", "\b\f\x01", "emoji \U0001f600 HERE", "x"}
	for _, text := range texts {
		it := DLQItem{Sink: "s", LastError: text, Message: Message{Subject: text, Body: text}}
		raw, _, err := encodeItem("test", it)
		if err != nil {
			t.Fatal(err)
		}
		esc := escapedJSON(t, it)
		for _, q := range queries {
			checkNoMiss(t, it, raw, q)
			checkNoMiss(t, it, esc, q)
		}
	}
	raw, _, _ := encodeItem("test", DLQItem{Sink: "s", LastError: "timeout", Message: Message{Subject: "order 7", Body: `{"id":"ord-7"}`}})
	for _, q := range []string{"ord-8", "Order 8", "nothing"} {
		if newRawSearch(q).mayMatch(raw) {
			t.Errorf("q %q: %s taken as a candidate", q, raw)
		}
	}
	for _, q := range []string{"ORD-7", "order 7", "TIMEOUT"} {
		if !newRawSearch(q).mayMatch(raw) {
			t.Errorf("q %q: %s passed over", q, raw)
		}
	}
}

// FuzzRawSearch: an item that matches a query is never passed over by the
// raw test, as encoding/json writes it or with all its text escaped.
func FuzzRawSearch(f *testing.F) {
	f.Add("db timeout", "order 42", `{"id":"ord-42"}`, "ORD-42")
	f.Add("\u212a", "", "", "k")
	f.Add("<b>", "a\"b", "c\\d", "\"B")
	f.Fuzz(func(t *testing.T, lastError, subject, body, q string) {
		if q == "" {
			return
		}
		it := DLQItem{Sink: "s", LastError: lastError, Message: Message{Subject: subject, Body: body}}
		raw, _, err := encodeItem("fuzz", it)
		if err != nil {
			return
		}
		checkNoMiss(t, it, raw, q)
		checkNoMiss(t, it, escapedJSON(t, it), q)
	})
}

// A search reads the items out of blocks of the log: over items of every
// size, some larger than a block, in several chunks, it finds what
// Filter.Match finds, newest first.
func TestFileDLQSearchMatchesFilter(t *testing.T) {
	ctx := context.Background()
	f, err := OpenFileDLQ(t.TempDir(), WithMaxItems(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	texts := []string{"plain needle", "N\u0065EDLE escaped", "<needle>", "no match", "ne\u212aedle"}
	for i := 0; i < 2*listChunk+100; i++ {
		it := DLQItem{Sink: []string{"a", "b"}[i%2], LastError: texts[i%len(texts)],
			Message: Message{Subject: fmt.Sprint("item ", i), Body: strings.Repeat("x", i%7*100)}}
		if i%500 == 0 {
			it.Message.Body = strings.Repeat("big ", scanBlock/3) + "needle"
		}
		if _, err := f.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	all, _, err := f.List(ctx, Filter{}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, flt := range []Filter{{Contains: "NEEDLE"}, {Contains: "<needle>"}, {Contains: "item 1"}, {Contains: "nek"}, {Contains: "big needle", Sink: "a"}} {
		var want []string
		for i := range all {
			if flt.Match(&all[i]) {
				want = append(want, all[i].ID)
			}
		}
		got, _, err := f.List(ctx, flt, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range got {
			ids = append(ids, it.ID)
		}
		if len(want) == 0 || fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("%+v: got %d items, want %d", flt, len(ids), len(want))
		}
	}
}

// blockReader serves each range from one block read, reading a new block
// that ends where the range ends when it is not in the current one, and
// reads a range larger than a block on its own.
func TestBlockReader(t *testing.T) {
	data := make([]byte, 3*scanBlock+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	br := &blockReader{r: bytes.NewReader(data)}
	for _, c := range []struct{ off, n, loads int }{
		{len(data) - 10, 10, 1}, {len(data) - 30, 15, 1}, {100, 50, 2}, {0, 10, 2}, {scanBlock - 5, 10, 3},
		{5, scanBlock + 100, 4}, {len(data) - 1, 1, 5},
	} {
		block, lo, err := br.at(int64(c.off), c.n)
		if err != nil || !bytes.Equal(block[lo:lo+c.n], data[c.off:c.off+c.n]) || br.loads != c.loads {
			t.Fatalf("at(%d, %d): %v after %d reads, want %d", c.off, c.n, err, br.loads, c.loads)
		}
	}
	if _, _, err := br.at(int64(len(data)-5), 10); err == nil {
		t.Fatal("a read past the end succeeded")
	}
}

// foldsToASCII lists every rune above U+007F that lowers to ASCII.
func TestFoldsToASCII(t *testing.T) {
	var want [][]byte
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if unicode.ToLower(r) < utf8.RuneSelf {
			want = append(want, utf8.AppendRune(nil, r))
		}
	}
	if fmt.Sprintf("%q", want) != fmt.Sprintf("%q", foldsToASCII) {
		t.Fatalf("runes that lower to ASCII: %q, foldsToASCII %q", want, foldsToASCII)
	}
	for _, f := range foldsToASCII {
		r, _ := utf8.DecodeRune(f)
		if c := byte(unicode.ToLower(r)); c != 'i' && c != 'k' {
			t.Fatalf("%q lowers to %q: newRawSearch must look for it", f, c)
		}
	}
}
