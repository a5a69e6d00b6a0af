package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// parkSubjects posts one message per subject to the daemon's "orders" sink
// while its receiver fails, so that each is dead-lettered.
func (d *daemon) parkSubjects(t *testing.T, hook *testenv.Receiver, subjects ...string) {
	t.Helper()
	hook.Fail.Store(true)
	defer hook.Fail.Store(false)
	for _, s := range subjects {
		var res struct{ Status string }
		body, _ := json.Marshal(map[string]string{"subject": s, "body": "{}"})
		if code := d.api("POST", "/v1/sinks/orders/messages", string(body), &res); code != http.StatusAccepted || res.Status != "dead_lettered" {
			t.Fatalf("park %.20q: %d %+v", s, code, res)
		}
	}
}

// consolePage loads the console's pages in a browser and measures them.
type consolePage struct {
	t   *testing.T
	ctx context.Context
	d   *daemon
}

// consoleSetup starts a browser, a receiver and a daemon whose sink
// "orders" posts to the receiver, trying each message once; it returns the
// page, the receiver and the daemon's configuration file.
func consoleSetup(t *testing.T) (consolePage, *testenv.Receiver, string) {
	t.Helper()
	ctx := browser(t)
	hook := testenv.NewReceiver(t)
	cfg := writeConfig(t, t.TempDir(), hook.URL, "retry:\n  max_attempts: 1")
	return consolePage{t: t, ctx: ctx, d: startDaemon(t, "--config", cfg)}, hook, cfg
}

// open loads path at width×900 CSS pixels and waits for the element with
// id wait.
func (p consolePage) open(width int64, path, wait string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx,
		chromedp.EmulateViewport(width, 900),
		chromedp.Navigate(p.d.URL+path),
		chromedp.WaitVisible(chromedp.ID(wait)),
	); err != nil {
		p.t.Fatalf("open %s at %d px: %v\n%s", path, width, err, p.d.logs)
	}
}

// eval runs a script that measures the page and decodes its JSON answer.
func eval[T any](p consolePage, script string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](script))
	if err != nil {
		p.t.Fatalf("evaluate: %v", err)
	}
	return v
}

// widths are an element's and the document's scroll and client widths.
type widths struct {
	WrapScroll, WrapClient int
	DocScroll, DocClient   int
	ErrColumn              float64
}

// measureItems measures the items table's container (its parent element),
// the document, and the width of the "Last error" column.
const measureItems = `(() => {
  const table = document.getElementById("items"), wrap = table.parentElement, doc = document.documentElement;
  const err = [...table.querySelectorAll("thead th")].find(th => /last error/i.test(th.textContent));
  return {WrapScroll: wrap.scrollWidth, WrapClient: wrap.clientWidth, DocScroll: doc.scrollWidth, DocClient: doc.clientWidth,
    ErrColumn: err.getBoundingClientRect().width};
})()`

// narrowReport says what sticks out of the viewport: elements wider than it
// (or past its edges) that are not inside a scrollable .table-wrap, the
// menu links that cannot be clicked where they are, and, for the table with
// the given id, whether its first link is clickable and its last column can
// be scrolled into view.
type narrowReport struct {
	Viewport, DocScroll int
	Outside             []string
	NavLinks            []string
	BadLinks            []string
	FirstLink           string // "" when the table has no link, else "clickable" or "hidden"
	LastCellReachable   bool
}

const measureNarrow = `((tableID) => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const scrollable = el => { const s = getComputedStyle(el).overflowX; return s === "auto" || s === "scroll"; };
  const insideWrap = el => { const w = el.parentElement && el.parentElement.closest(".table-wrap"); return !!w && scrollable(w); };
  const outside = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (insideWrap(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.left < -0.5 || r.right > vw + 0.5)) outside.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + Math.round(r.left) + ".." + Math.round(r.right));
  }
  const clickable = a => {
    const r = a.getClientRects()[0];
    if (!r || r.width === 0 || r.left < 0 || r.right > vw || r.top < 0 || r.bottom > vh) return false;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return hit === a || a.contains(hit);
  };
  const nav = [...document.querySelectorAll("header nav a")];
  const table = document.getElementById(tableID);
  const first = table.querySelector("tbody a");
  const wrap = table.closest(".table-wrap");
  let reachable = false;
  if (wrap && scrollable(wrap)) {
    wrap.scrollLeft = wrap.scrollWidth;
    const cells = table.querySelectorAll("tbody tr:first-child td");
    const r = cells[cells.length - 1].getBoundingClientRect();
    reachable = r.right <= vw + 0.5 && r.left >= -0.5;
    wrap.scrollLeft = 0;
  } else {
    reachable = table.getBoundingClientRect().right <= vw + 0.5;
  }
  return {Viewport: vw, DocScroll: document.documentElement.scrollWidth, Outside: outside,
    NavLinks: nav.map(a => a.textContent.trim()), BadLinks: nav.filter(a => !clickable(a)).map(a => a.textContent.trim()),
    FirstLink: !first ? "" : clickable(first) ? "clickable" : "hidden", LastCellReachable: reachable};
})`

// TestConsoleLayoutInChromium: with a 300-character subject that has no
// space, the items table stays inside its container and the page at
// 1280 px, and "Last error" keeps a readable width; at 420 px nothing but a
// scrollable table wrapper is wider than the viewport, every menu link can
// be clicked where it is, and the redrives table can be used (its link
// clicked, its last column scrolled into view).
func TestConsoleLayoutInChromium(t *testing.T) {
	p, hook, _ := consoleSetup(t)
	ctx, d := p.ctx, p.d
	long := strings.Repeat("W", 300)
	d.parkSubjects(t, hook, long, "order "+strings.Repeat("x", 300), "short one")
	hook.Fail.Store(true)
	if _, errOut, code := run(t, "dlq", "redrive", "--dlq", d.URL, "--sink", "orders"); code != 4 {
		t.Fatalf("redrive: exit %d %s", code, errOut)
	}

	p.open(1280, "/items", "items")
	w := eval[widths](p, measureItems)
	if w.WrapScroll > w.WrapClient || w.DocScroll > w.DocClient {
		t.Errorf("at 1280 px the items table overflows: container %d/%d, document %d/%d (scroll/client)",
			w.WrapScroll, w.WrapClient, w.DocScroll, w.DocClient)
	}
	if w.ErrColumn < 200 {
		t.Errorf("at 1280 px the Last error column is %.0f px wide", w.ErrColumn)
	}
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`[...document.querySelectorAll("#items td")].map(td => td.title).find(t => t.startsWith("WWW")) || ""`))
	if err != nil || title != long {
		t.Errorf("the full subject is not in a title: %q, %v", title, err)
	}

	for _, path := range []string{"/redrives", "/items", "/", "/activity"} {
		id := map[string]string{"/redrives": "redrives", "/items": "items", "/": "sinks", "/activity": "activity"}[path]
		p.open(420, path, id)
		r := eval[narrowReport](p, measureNarrow+fmt.Sprintf("(%q)", id))
		if r.DocScroll > r.Viewport || len(r.Outside) > 0 {
			t.Errorf("%s at 420 px: document %d px wide in %d; outside the viewport: %v", path, r.DocScroll, r.Viewport, r.Outside)
		}
		if len(r.NavLinks) != 4 || len(r.BadLinks) > 0 {
			t.Errorf("%s at 420 px: menu %v, cannot be clicked: %v", path, r.NavLinks, r.BadLinks)
		}
		if r.FirstLink == "hidden" || (id == "redrives" && r.FirstLink == "") || !r.LastCellReachable {
			t.Errorf("%s at 420 px: table #%s: first link %q, last column reachable %v", path, id, r.FirstLink, r.LastCellReachable)
		}
	}
}
