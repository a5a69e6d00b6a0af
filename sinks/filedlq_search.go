package sinks

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A search (Filter.Contains) over a FileDLQ reads the log in large blocks
// and looks at the raw JSON of the items before it decodes any: an item
// whose text cannot hold the query is passed over, so that only candidates
// pay for json.Unmarshal. For most queries (see rawSearch.plain) a block is
// searched as a whole, a few fast passes over its bytes, and its items are
// told apart by where the hits fall.

// fileSearch is the Contains filter of one FileDLQ scan.
type fileSearch struct {
	rs      *rawSearch
	br      blockReader
	indexed int // br.loads when rs last indexed br's block
}

func newFileSearch(log io.ReaderAt, q string) *fileSearch {
	return &fileSearch{rs: newRawSearch(q), br: blockReader{r: log}}
}

// read returns the item of n when its raw JSON may match, and ok false
// without decoding it when it cannot. f.mu is held.
func (s *fileSearch) read(op string, n *indexNode[fileLoc]) (it DLQItem, ok bool, err error) {
	size := n.val.itemLen()
	block, lo, err := s.br.at(n.val.off+int64(n.val.itemOff), size)
	if err != nil {
		return DLQItem{}, false, Errorf(CodeInternal, op, "read item %d: %w", n.seq, err)
	}
	if s.indexed != s.br.loads {
		s.rs.indexBlock(block)
		s.indexed = s.br.loads
	}
	if !s.rs.mayMatchIn(block, lo, lo+size) {
		return DLQItem{}, false, nil
	}
	it, err = decodeNode(op, n, block[lo:lo+size])
	return it, err == nil, err
}

// rawSearch tells, from the raw JSON of items, which may match a Contains
// filter. Its answer "no" is certain; "yes" is confirmed by Filter.Match on
// the decoded item.
type rawSearch struct {
	needle []byte // strings.ToLower of the query, as Filter.Match folds it
	// plain is set when the needle is ASCII without a character that a
	// JSON short escape (\" \\ \/ \b \f \n \r \t) stands for. Then, in an
	// item without \u escapes, a match is a run of the item's own bytes
	// (ASCII case aside), unless a rune that lowers to ASCII spells part of
	// it: see foldsToASCII, looked for when the needle holds their letters.
	plain, lookForFolds bool
	// anchors are the forms of the needle's part at anchorAt that a match
	// must hold verbatim: its longest run without letters, or else its
	// rarest letter in both cases.
	anchors  [][]byte
	anchorAt int

	// For a plain needle, where in the current block the anchors and
	// anything that may hide a match (a \u escape, a rune of foldsToASCII)
	// stand, in increasing order.
	anchorHits, hiddenHits []int
	folded                 []byte // scratch for the other needles
}

// foldsToASCII are the UTF-8 forms of the runes above U+007F that
// unicode.ToLower turns into ASCII: U+0130 (to "i") and U+212A KELVIN SIGN
// (to "k").
var foldsToASCII = [][]byte{[]byte("\u0130"), []byte("\u212a")}

// letterRarity ranks the letters from the rarest in English text.
const letterRarity = "zqxjkvbpygfwmucldrhsnioate"

func newRawSearch(q string) *rawSearch {
	s := &rawSearch{needle: []byte(strings.ToLower(q)), plain: true}
	var run []byte
	rare := -1
	for i := 0; i < len(s.needle); i++ {
		c := s.needle[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '/' {
			s.plain = false
		}
		if c == 'i' || c == 'k' {
			s.lookForFolds = true
		}
		if isASCIILetter(c) {
			if rare < 0 || strings.IndexByte(letterRarity, c) < strings.IndexByte(letterRarity, s.needle[rare]) {
				rare = i
			}
			continue
		}
		j := i
		for j < len(s.needle) && !isASCIILetter(s.needle[j]) {
			j++
		}
		if j-i > len(run) {
			run, s.anchorAt = s.needle[i:j], i
		}
		i = j - 1
	}
	switch {
	case len(run) >= 2 || rare < 0:
		s.anchors = [][]byte{run}
	default:
		c := s.needle[rare]
		s.anchors, s.anchorAt = [][]byte{{c}, {c - 'a' + 'A'}}, rare
	}
	return s
}

// indexBlock records the hits of block, which the next calls of
// mayMatchIn ask about. Only a plain needle uses them.
func (s *rawSearch) indexBlock(block []byte) {
	if !s.plain {
		return
	}
	s.anchorHits = s.anchorHits[:0]
	for _, a := range s.anchors {
		s.anchorHits = appendHits(s.anchorHits, block, a)
	}
	if len(s.anchors) > 1 {
		slices.Sort(s.anchorHits)
	}
	s.hiddenHits = appendHits(s.hiddenHits[:0], block, []byte(`\u`))
	if s.lookForFolds {
		for _, f := range foldsToASCII {
			s.hiddenHits = appendHits(s.hiddenHits, block, f)
		}
		slices.Sort(s.hiddenHits)
	}
}

// appendHits appends the offsets of sub in b.
func appendHits(hits []int, b, sub []byte) []int {
	for i := 0; ; {
		j := bytes.Index(b[i:], sub)
		if j < 0 {
			return hits
		}
		hits = append(hits, i+j)
		i += j + 1
	}
}

// mayMatchIn reports whether the item whose JSON is block[lo:hi] may
// contain the query in one of its strings, case-insensitively. block was
// given to indexBlock.
func (s *rawSearch) mayMatchIn(block []byte, lo, hi int) bool {
	if !s.plain || hitIn(s.hiddenHits, lo, hi) {
		return s.mayMatchFolded(block[lo:hi])
	}
	// A match starts at lo or later and ends at hi or earlier.
	n := len(s.needle)
	first, _ := slices.BinarySearch(s.anchorHits, lo+s.anchorAt)
	for _, h := range s.anchorHits[first:] {
		start := h - s.anchorAt
		if start+n > hi {
			return false
		}
		if equalFoldASCII(block[start:start+n], s.needle) {
			return true
		}
	}
	return false
}

// hitIn reports whether a hit of hits lies in [lo, hi).
func hitIn(hits []int, lo, hi int) bool {
	i, _ := slices.BinarySearch(hits, lo)
	return i < len(hits) && hits[i] < hi
}

// mayMatch is mayMatchIn for one item's JSON on its own.
func (s *rawSearch) mayMatch(raw []byte) bool {
	s.indexBlock(raw)
	return s.mayMatchIn(raw, 0, len(raw))
}

// mayMatchFolded is the search for any needle: every string of the item,
// unescaped and folded as Filter.Match folds it, is a run of this text.
func (s *rawSearch) mayMatchFolded(raw []byte) bool {
	s.folded = appendFoldedText(s.folded[:0], raw)
	return bytes.Contains(s.folded, s.needle)
}

// equalFoldASCII reports whether a, folded to ASCII lower case, is lower.
func equalFoldASCII(a, lower []byte) bool {
	for i, c := range a {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// appendFoldedText appends raw, JSON text, with its escapes decoded as
// encoding/json decodes them (a lone surrogate becomes U+FFFD) and each
// rune lowered as strings.ToLower lowers it (invalid UTF-8 becomes
// U+FFFD).
func appendFoldedText(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(raw[i:])
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
			i += size
			continue
		}
		if c == '\\' && i+1 < len(raw) {
			r, size := unescapeAt(raw[i:])
			if size > 0 {
				dst = utf8.AppendRune(dst, unicode.ToLower(r))
				i += size
				continue
			}
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// unescapeAt decodes the JSON escape that b starts with and returns its
// rune and length, or a length of 0 when b holds none.
func unescapeAt(b []byte) (rune, int) {
	switch b[1] {
	case '"', '\\', '/':
		return rune(b[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, 0
		}
		if utf16IsHigh(r) {
			if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
				if lo, ok := hex4(b[8:]); ok && utf16IsLow(lo) {
					return (r-0xd800)<<10 | (lo - 0xdc00) + 0x10000, 12
				}
			}
			return utf8.RuneError, 6
		}
		if utf16IsLow(r) {
			return utf8.RuneError, 6
		}
		return r, 6
	}
	return 0, 0
}

func utf16IsHigh(r rune) bool { return 0xd800 <= r && r < 0xdc00 }
func utf16IsLow(r rune) bool  { return 0xdc00 <= r && r < 0xe000 }

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// blockReader reads the items of a scan out of large blocks of the log,
// not one read each. A scan goes from the newest item towards the oldest,
// so a block ends where the item asked for ends.
type blockReader struct {
	r     io.ReaderAt
	std   []byte // the buffer of ordinary blocks
	block []byte // the current block: std, or an item larger than std
	off   int64  // the file offset of block[0]
	loads int    // blocks read so far
}

// scanBlock is the size of a blockReader's reads.
const scanBlock = 256 << 10

// at returns the current block and where in it the n bytes at off are,
// reading a new block when they are not in the current one.
func (b *blockReader) at(off int64, n int) (block []byte, lo int, err error) {
	if off >= b.off && off+int64(n) <= b.off+int64(len(b.block)) {
		return b.block, int(off - b.off), nil
	}
	if b.std == nil {
		b.std = make([]byte, scanBlock)
	}
	buf, start := b.std, max(0, off+int64(n)-scanBlock)
	if n > scanBlock {
		buf, start = make([]byte, n), off
	}
	m, err := b.r.ReadAt(buf, start)
	if err != nil && !(errors.Is(err, io.EOF) && start+int64(m) >= off+int64(n)) {
		b.block = nil
		return nil, 0, err
	}
	b.block, b.off = buf[:m], start
	b.loads++
	return b.block, int(off - start), nil
}

// reset forgets the block, whose file may have been replaced since.
func (b *blockReader) reset(r io.ReaderAt) { b.r, b.block = r, nil }
