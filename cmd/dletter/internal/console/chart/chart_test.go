package chart

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
)

// drawn is a rendered chart read back as XML.
type drawn struct {
	Class string `xml:"class,attr"`
	Label string `xml:"aria-label,attr"`
	Role  string `xml:"role,attr"`
	Title string `xml:"title"`
	Rects []struct {
		Class string `xml:"class,attr"`
		X     string `xml:"x,attr"`
		Y     string `xml:"y,attr"`
		H     string `xml:"height,attr"`
		Tip   string `xml:"title"`
	} `xml:"rect"`
	Texts []string `xml:"text"`
}

func render(t *testing.T, b Bars) (string, drawn) {
	t.Helper()
	out, err := Render(b)
	if err != nil {
		t.Fatal(err)
	}
	var d drawn
	if err := xml.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, out)
	}
	return string(out), d
}

func heights(t *testing.T, d drawn) []float64 {
	t.Helper()
	hs := make([]float64, len(d.Rects))
	for i, r := range d.Rects {
		h, err := strconv.ParseFloat(r.H, 64)
		y, err2 := strconv.ParseFloat(r.Y, 64)
		if err != nil || err2 != nil || h < 0 || math.Abs(y+h-PlotHeight) > 0.01 {
			t.Fatalf("bar %d: y %q height %q: not standing on the baseline", i, r.Y, r.H)
		}
		hs[i] = h
	}
	return hs
}

// TestRenderOneBarPerValue: 60 values draw 60 bars, 24 draw 24, each of
// class "bar", left to right; the chart is an image named by its label.
func TestRenderOneBarPerValue(t *testing.T) {
	for _, n := range []int{60, 24} {
		_, d := render(t, Bars{Title: "t", Per: "minute", Values: make([]int64, n), Class: "dead"})
		if len(d.Rects) != n {
			t.Fatalf("%d values drew %d bars", n, len(d.Rects))
		}
		last := -1.0
		for i, r := range d.Rects {
			x, _ := strconv.ParseFloat(r.X, 64)
			if r.Class != "bar" || x <= last || x >= Width {
				t.Fatalf("bar %d of %d: class %q at x %q", i, n, r.Class, r.X)
			}
			last = x
		}
		if d.Role != "img" || d.Label == "" || d.Title != d.Label || d.Class != "chart dead" {
			t.Fatalf("role %q, label %q, title %q, class %q", d.Role, d.Label, d.Title, d.Class)
		}
	}
}

// TestRenderHeightsProportional: bars are as tall as their share of the
// largest, which fills the plot; a small value that is not zero still
// shows; a negative one is drawn as zero; the label has the totals.
func TestRenderHeightsProportional(t *testing.T) {
	_, d := render(t, Bars{Title: "orders: dead letters in the last hour", Per: "minute", Values: []int64{0, 1, 2, 4, 8, -3}})
	want := []float64{0, PlotHeight / 8, PlotHeight / 4, PlotHeight / 2, PlotHeight, 0}
	for i, h := range heights(t, d) {
		if math.Abs(h-want[i]) > 0.01 {
			t.Fatalf("heights %v, want %v", heights(t, d), want)
		}
	}
	if d.Label != "orders: dead letters in the last hour: 15 in all, at most 8 in one minute" {
		t.Fatalf("label %q", d.Label)
	}
	_, d = render(t, Bars{Values: []int64{1, 100000}})
	if h := heights(t, d); h[0] != 1 || h[1] != PlotHeight {
		t.Fatalf("a value of 1 beside 100000: heights %v", h)
	}
}

// TestRenderZeros: a chart of zeros, or of no values, draws empty bars
// and no NaN or infinity (no division by the zero maximum).
func TestRenderZeros(t *testing.T) {
	out, d := render(t, Bars{Title: "idle", Per: "hour", Values: make([]int64, 24), From: "24 h ago", To: "now"})
	for i, h := range heights(t, d) {
		if h != 0 {
			t.Fatalf("bar %d of zeros is %v tall", i, h)
		}
	}
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") || d.Label != "idle: 0 in all, at most 0 in one hour" {
		t.Fatalf("zeros: label %q\n%s", d.Label, out)
	}
	if len(d.Texts) != 2 || d.Texts[0] != "24 h ago" || d.Texts[1] != "now" {
		t.Fatalf("axis hints %q", d.Texts)
	}
	if _, d = render(t, Bars{}); len(d.Rects) != 0 {
		t.Fatalf("no values drew %d bars", len(d.Rects))
	}
}

// TestRenderEscapes: a hostile sink name in the title, the tips or the
// axis hints stays text: no element or attribute comes out of it, and
// it reads back as written.
func TestRenderEscapes(t *testing.T) {
	evil := `orders"><script>alert(1)</script><rect onload="x" a='`
	out, d := render(t, Bars{Title: evil, Per: "minute", Values: []int64{1, 2}, Tips: []string{evil, "b"}, From: evil, To: "</svg>", Class: `dead" onclick="x`})
	if strings.Contains(out, "<script") || strings.Contains(out, `onload="`) || strings.Contains(out, `" onclick`) || strings.Count(out, "<rect") != 2 || strings.Count(out, "</svg>") != 1 {
		t.Fatalf("escaping failed:\n%s", out)
	}
	if !strings.HasPrefix(d.Label, evil+": ") || d.Rects[0].Tip != evil || d.Texts[0] != evil || d.Texts[1] != "</svg>" {
		t.Fatalf("text changed: label %q tip %q hints %q", d.Label, d.Rects[0].Tip, d.Texts)
	}
}
