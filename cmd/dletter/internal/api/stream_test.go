package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dletter/dletter/sinks"
)

// TestEncodeItemsPage: the page written an item at a time is the JSON that
// encoding the whole page at once would give, byte for byte.
func TestEncodeItemsPage(t *testing.T) {
	big := sinks.DLQItem{ID: "2", Sink: "s", Message: sinks.Message{Subject: "<b>", Body: strings.Repeat("é", 600)},
		Recipient: json.RawMessage(`{"to":"x"}`), History: []sinks.Attempt{{Error: "503"}}}
	for _, items := range [][]sinks.ItemPreview{
		{},
		{sinks.PreviewOf(sinks.DLQItem{ID: "1", Sink: "s"}, 10)},
		{sinks.PreviewOf(big, 1024), sinks.PreviewOf(sinks.DLQItem{ID: "1", Sink: "t", LastError: "\u2028"}, 1024)},
	} {
		var got bytes.Buffer
		if err := encodeItemsPage(&got, items, "cursor-1"); err != nil {
			t.Fatal(err)
		}
		want, err := json.MarshalIndent(ItemsPage{Items: items, NextCursor: "cursor-1"}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want)+"\n" {
			t.Fatalf("streamed:\n%s\nwant:\n%s", got.String(), want)
		}
	}
}
