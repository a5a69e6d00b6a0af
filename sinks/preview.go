package sinks

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Listings for people (the daemon's API, its console, `dletter dlq ls`) show
// previews: each body cut to its first kilobyte, and pages that end early
// once they hold a few megabytes. Anyone who can send a message can plant
// large items; a page of whole items would make a listing cost the sum of
// their sizes.

// Defaults of PreviewOptions.
const (
	// DefaultPreviewBytes is how much of a body a preview keeps.
	DefaultPreviewBytes = 1 << 10
	// DefaultPageBytes is the byte budget of a page of previews.
	DefaultPageBytes = 4 << 20
)

// PreviewOptions bound a page of ListPreviews.
type PreviewOptions struct {
	// BodyBytes is the most bytes of Message.Body a preview keeps, cut on a
	// UTF-8 boundary (DefaultPreviewBytes when 0 or less).
	BodyBytes int
	// PageBytes is the byte budget of a page: once its previews add up to
	// it (their strings' lengths, see ItemPreview.Size), the page ends and
	// the next cursor is set. A page holds at least one item, so it may pass
	// the budget by one preview. DefaultPageBytes when 0 or less.
	PageBytes int
}

func (o PreviewOptions) withDefaults() PreviewOptions {
	if o.BodyBytes <= 0 {
		o.BodyBytes = DefaultPreviewBytes
	}
	if o.PageBytes <= 0 {
		o.PageBytes = DefaultPageBytes
	}
	return o
}

// ItemPreview is an item as a listing shows it: Message.Body holds at most
// the first PreviewOptions.BodyBytes of the body. The whole item is one
// Store.Get away. A preview is for showing: storing it (Add, Update) would
// store the cut body.
type ItemPreview struct {
	DLQItem
	// BodyTruncated is true when Message.Body holds only the start of the
	// body.
	BodyTruncated bool `json:"body_truncated,omitempty"`
	// BodyBytes is the size of the whole body in bytes.
	BodyBytes int `json:"body_bytes"`
}

// UnmarshalJSON decodes a preview (DLQItem's own UnmarshalJSON would
// otherwise be promoted and ignore the preview's fields).
func (p *ItemPreview) UnmarshalJSON(b []byte) error {
	if err := decodeItem(b, &p.DLQItem); err != nil {
		return err
	}
	var extra struct {
		BodyTruncated bool `json:"body_truncated"`
		BodyBytes     int  `json:"body_bytes"`
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		return err
	}
	p.BodyTruncated, p.BodyBytes = extra.BodyTruncated, extra.BodyBytes
	return nil
}

// PreviewOf returns it with its body cut to at most n bytes on a UTF-8
// boundary. The cut body is a copy: the preview does not keep the whole
// body in memory.
func PreviewOf(it DLQItem, n int) ItemPreview {
	p := ItemPreview{DLQItem: it, BodyBytes: len(it.Message.Body)}
	if body, cut := cutUTF8(it.Message.Body, n); cut {
		p.Message.Body = strings.Clone(body)
		p.BodyTruncated = true
	}
	return p
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// end inside a UTF-8 sequence, and whether it is shorter than s. Bytes that
// are not UTF-8 are counted as they are: the prefix is then cut at n.
func cutUTF8(s string, n int) (string, bool) {
	n = max(n, 0)
	if len(s) <= n {
		return s, false
	}
	// The last sequence that starts before n starts at most UTFMax-1 bytes
	// before it; when it runs past n, cut before it.
	for i := n - 1; i >= 0 && i > n-utf8.UTFMax; i-- {
		if !utf8.RuneStart(s[i]) {
			continue
		}
		if _, size := utf8.DecodeRuneInString(s[i:]); i+size > n {
			return s[:i], true
		}
		break
	}
	return s[:n], true
}

// Size is about what the preview weighs in a page: the lengths of its
// strings (without JSON escaping) and a fixed allowance for the rest.
func (p *ItemPreview) Size() int {
	const perItem, perEntry = 256, 48
	n := perItem + len(p.ID) + len(p.Sink) + len(p.Message.Subject) + len(p.Message.Body) +
		len(p.LastError) + len(p.DeliveryID)
	if raw, ok := p.Recipient.(json.RawMessage); ok {
		n += len(raw)
	}
	for k, v := range p.Message.Metadata {
		n += perEntry + len(k) + len(v)
	}
	for _, a := range p.History {
		n += perEntry + len(a.Error)
	}
	return n
}

// pageCollector gathers the items of a page as a store walks them: whole
// items for List, previews for ListPreviews.
type pageCollector interface {
	add(it DLQItem)
	// full reports that the page has what it wants; never when it is empty.
	full() bool
	// lastID is the id of the last item added, the next page's cursor.
	lastID() string
}

// itemPage collects whole items up to a limit (0 or less: no limit).
type itemPage struct {
	items []DLQItem
	limit int
}

func (p *itemPage) add(it DLQItem) { p.items = append(p.items, it) }
func (p *itemPage) full() bool     { return p.limit > 0 && len(p.items) >= p.limit }
func (p *itemPage) lastID() string { return p.items[len(p.items)-1].ID }

// previewPage collects the previews of a page until its limit or its byte
// budget is reached.
type previewPage struct {
	items []ItemPreview
	limit int // 0 or less: no limit
	opts  PreviewOptions
	bytes int
}

func (p *previewPage) add(it DLQItem) {
	pv := PreviewOf(it, p.opts.BodyBytes)
	p.bytes += pv.Size()
	p.items = append(p.items, pv)
}

func (p *previewPage) full() bool {
	return len(p.items) > 0 && ((p.limit > 0 && len(p.items) >= p.limit) || p.bytes >= p.opts.PageBytes)
}

func (p *previewPage) lastID() string { return p.items[len(p.items)-1].ID }

// room is how many items the page reads next from a store that is not a
// PreviewLister: one to learn how large they are, then about as many as its
// budget has room for, at most previewChunk and never past its limit.
func (p *previewPage) room() int {
	if len(p.items) == 0 {
		return 1
	}
	avg := max(p.bytes/len(p.items), 1)
	n := min(previewChunk, max((p.opts.PageBytes-p.bytes+avg-1)/avg, 1))
	if p.limit > 0 {
		n = min(n, p.limit-len(p.items))
	}
	return n
}

// PreviewLister is a Store that lists previews itself, cutting each body as
// it decodes the item instead of holding a page of whole items (FileDLQ
// does). ListPreviews uses it.
type PreviewLister interface {
	ListPreviews(ctx context.Context, f Filter, cursor string, limit int, o PreviewOptions) ([]ItemPreview, string, error)
}

// previewChunk is the most whole items ListPreviews reads at a time from a
// store that is not a PreviewLister.
const previewChunk = 8

// ListPreviews returns a page of previews of the items of s that match f,
// newest first, after cursor, like Store.List: each body is cut to
// o.BodyBytes, and the page ends early, with a next cursor, once its
// previews add up to o.PageBytes. A PreviewLister does it itself; any other
// store is read a few items at a time (see previewPage.room), so that only
// a few whole items are held at once; its pages may then pass the budget by
// a few previews when the items differ in size.
func ListPreviews(ctx context.Context, s Store, f Filter, cursor string, limit int, o PreviewOptions) ([]ItemPreview, string, error) {
	o = o.withDefaults()
	if pl, ok := s.(PreviewLister); ok {
		return pl.ListPreviews(ctx, f, cursor, limit, o)
	}
	page := previewPage{limit: limit, opts: o}
	for {
		items, next, err := s.List(ctx, f, cursor, page.room())
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			page.add(it)
		}
		if next == "" || len(items) == 0 {
			return page.items, "", nil
		}
		if page.full() {
			return page.items, next, nil
		}
		cursor = next
	}
}
