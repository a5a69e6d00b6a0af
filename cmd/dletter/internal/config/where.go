package config

import (
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// keyLines maps the dotted path of every key in the mapping n (and of every
// entry of a list, as "path[i]") to its 1-based line.
func keyLines(n *yaml.Node) map[string]int {
	lines := make(map[string]int)
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := join(path, n.Content[i].Value)
				lines[k] = n.Content[i].Line
				walk(k, n.Content[i+1])
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				k := path + "[" + strconv.Itoa(i) + "]"
				lines[k] = e.Line
				walk(k, e)
			}
		}
	}
	walk("", n)
	return lines
}

// parentKey drops the last part of a dotted key: "a.b" for "a.b.c" and
// for "a.b[2]", "" for "a".
func parentKey(key string) string {
	if i := strings.LastIndexAny(key, ".["); i >= 0 {
		return key[:i]
	}
	return ""
}

// SetByFlag records that the value of key (and of every key under it) now
// comes from the command-line flag flag, such as "--listen": an error about
// it names the flag, not a line of the file.
func (c *Config) SetByFlag(key, flag string) {
	if c.flags == nil {
		c.flags = make(map[string]string)
	}
	c.flags[key] = flag
}

// errorAt is the *Error about the value of key: it names the flag that set
// it, or the file and the line of the key (of the nearest enclosing key
// that the file has, when the key itself is not in the file).
func (c *Config) errorAt(key string, value any, reason string) *Error {
	for k := key; k != ""; k = parentKey(k) {
		if flag, ok := c.flags[k]; ok {
			return &Error{Flag: flag, Key: key, Value: value, Reason: reason}
		}
	}
	e := &Error{File: c.File, Key: key, Value: value, Reason: reason}
	for k := key; k != "" && e.Line == 0; k = parentKey(k) {
		e.Line = c.lines[k]
	}
	return e
}

// badPair finds the first key of the mapping n whose value alone does not
// decode into a value of dst's type, so that an error names it and its
// line rather than the whole block.
func badPair(n *yaml.Node, dst any) (key, value *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	t := reflect.TypeOf(dst).Elem()
	for i := 0; i+1 < len(n.Content); i += 2 {
		one := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: n.Content[i : i+2]}
		if one.Decode(reflect.New(t).Interface()) != nil {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}
