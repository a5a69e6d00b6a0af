package sinks

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"strconv"
)

// The FileDLQ log is one JSON object per line:
//
//	{"op":"add","seq":7,"at":1767225600000000000,"sink":"mail","crc":3735928559,"item":{...}}
//	{"op":"upd","seq":7,"at":...,"sink":"mail","crc":...,"item":{...}}   replaces item 7
//	{"op":"del","seq":7}                                                  an operator discarded it
//	{"op":"drop","seq":7}                                                 the overflow policy dropped it
//	{"op":"meta","seq":9,"dropped":3}                                     written first by a compaction
//
// seq is the item's ID; at is DLQItem.At in Unix nanoseconds; crc is the
// CRC-32C of the item's JSON. The fixed field order lets Open read a line's
// header without decoding the item, so that it indexes a million items in
// a second or two; Items decodes only the items it returns.

const (
	opAdd  = "add"
	opUpd  = "upd"
	opDel  = "del"
	opDrop = "drop"
	opMeta = "meta"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// record is a parsed line. item indexes the item's JSON in the line.
type record struct {
	op        string
	seq       uint64
	at        int64
	sink      string
	crc       uint32
	itemStart int
	dropped   int64 // meta only
}

// appendItemRecord appends an add or upd line for item JSON data.
func appendItemRecord(dst []byte, op string, seq uint64, at int64, sink string, data []byte) (out []byte, itemStart int) {
	dst = append(dst, `{"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"at":`...)
	dst = strconv.AppendInt(dst, at, 10)
	dst = append(dst, `,"sink":`...)
	dst = appendJSONString(dst, sink)
	dst = append(dst, `,"crc":`...)
	dst = strconv.AppendUint(dst, uint64(crc32.Checksum(data, crcTable)), 10)
	dst = append(dst, `,"item":`...)
	itemStart = len(dst)
	dst = append(dst, data...)
	return append(dst, "}\n"...), itemStart
}

// appendMarkRecord appends a del or drop line.
func appendMarkRecord(dst []byte, op string, seq uint64) []byte {
	dst = append(dst, `{"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, "}\n"...)
}

// appendMetaRecord appends the meta line of a compacted log.
func appendMetaRecord(dst []byte, seq uint64, dropped int64) []byte {
	dst = append(dst, `{"op":"meta","seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"dropped":`...)
	dst = strconv.AppendInt(dst, dropped, 10)
	return append(dst, "}\n"...)
}

func appendJSONString(dst []byte, s string) []byte {
	if plainString(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s) // a string always encodes
	return append(dst, b...)
}

// plainString reports whether s needs no escaping in JSON.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// lineParser reads the fixed header of a line (without its '\n').
type lineParser struct {
	b   []byte
	pos int
	ok  bool
}

func (p *lineParser) lit(s string) {
	if p.ok && bytes.HasPrefix(p.b[p.pos:], []byte(s)) {
		p.pos += len(s)
		return
	}
	p.ok = false
}

func (p *lineParser) digits() []byte {
	start := p.pos
	if p.ok && p.pos < len(p.b) && p.b[p.pos] == '-' {
		p.pos++
	}
	for p.ok && p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		p.ok = false
	}
	return p.b[start:p.pos]
}

func (p *lineParser) uint() uint64 {
	d := p.digits()
	if !p.ok {
		return 0
	}
	v, err := strconv.ParseUint(string(d), 10, 64)
	p.ok = err == nil
	return v
}

func (p *lineParser) int() int64 {
	d := p.digits()
	if !p.ok {
		return 0
	}
	v, err := strconv.ParseInt(string(d), 10, 64)
	p.ok = err == nil
	return v
}

// str reads a JSON string; intern shares the result between lines.
func (p *lineParser) str(intern map[string]string) string {
	if !p.ok || p.pos >= len(p.b) || p.b[p.pos] != '"' {
		p.ok = false
		return ""
	}
	end, escaped := p.pos+1, false
	for ; end < len(p.b) && p.b[end] != '"'; end++ {
		if p.b[end] == '\\' {
			escaped = true
			end++
		}
	}
	if end >= len(p.b) {
		p.ok = false
		return ""
	}
	raw := p.b[p.pos : end+1]
	p.pos = end + 1
	if !escaped {
		if s, ok := intern[string(raw[1:len(raw)-1])]; ok {
			return s
		}
		s := string(raw[1 : len(raw)-1])
		intern[s] = s
		return s
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.ok = false
	}
	return s
}

// parseRecord parses a line written by this file's append functions. It
// reports false for anything else, including an item whose CRC does not
// match.
func parseRecord(line []byte, intern map[string]string) (record, bool) {
	var r record
	p := lineParser{b: line, ok: true}
	p.lit(`{"op":"`)
	switch {
	case bytes.HasPrefix(line[min(p.pos, len(line)):], []byte(`add"`)):
		r.op = opAdd
	case bytes.HasPrefix(line[min(p.pos, len(line)):], []byte(`upd"`)):
		r.op = opUpd
	case bytes.HasPrefix(line[min(p.pos, len(line)):], []byte(`del"`)):
		r.op = opDel
	case bytes.HasPrefix(line[min(p.pos, len(line)):], []byte(`drop"`)):
		r.op = opDrop
	case bytes.HasPrefix(line[min(p.pos, len(line)):], []byte(`meta"`)):
		r.op = opMeta
	default:
		return r, false
	}
	p.pos += len(r.op) + 1
	p.lit(`,"seq":`)
	r.seq = p.uint()
	switch r.op {
	case opDel, opDrop:
		p.lit("}")
		return r, p.ok && p.pos == len(line) && r.seq > 0
	case opMeta:
		p.lit(`,"dropped":`)
		r.dropped = p.int()
		p.lit("}")
		return r, p.ok && p.pos == len(line) && r.dropped >= 0
	}
	p.lit(`,"at":`)
	r.at = p.int()
	p.lit(`,"sink":`)
	r.sink = p.str(intern)
	p.lit(`,"crc":`)
	crc := p.uint()
	p.lit(`,"item":`)
	r.itemStart = p.pos
	if !p.ok || r.seq == 0 || crc > 0xffffffff || len(line)-r.itemStart < 2 || line[len(line)-1] != '}' {
		return r, false
	}
	r.crc = uint32(crc)
	return r, crc32.Checksum(line[r.itemStart:len(line)-1], crcTable) == r.crc
}
