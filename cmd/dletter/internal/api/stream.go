package api

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/dletter/dletter/sinks"
)

// writeItemsPage writes an ItemsPage as writeJSON would, one item at a
// time: the answer is never built in one buffer.
func writeItemsPage(w http.ResponseWriter, items []sinks.ItemPreview, next string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = encodeItemsPage(w, items, next)
}

// encodeItemsPage writes {"items":[...],"next_cursor":"..."}, indented like
// writeJSON, encoding each item on its own.
func encodeItemsPage(w io.Writer, items []sinks.ItemPreview, next string) error {
	if _, err := io.WriteString(w, "{\n  \"items\": ["); err != nil {
		return err
	}
	for i := range items {
		sep := ",\n    "
		if i == 0 {
			sep = "\n    "
		}
		b, err := json.MarshalIndent(&items[i], "    ", "  ")
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	end := "],\n  \"next_cursor\": "
	if len(items) > 0 {
		end = "\n  " + end
	}
	cursor, _ := json.Marshal(next)
	_, err := io.WriteString(w, end+string(cursor)+"\n}\n")
	return err
}
