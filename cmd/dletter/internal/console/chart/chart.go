// Package chart draws the console's small bar charts as inline SVG: no
// script and no style attribute (the bars take their colour from the
// console's stylesheet through their classes, so the page's CSP needs
// nothing more), every text escaped by html/template.
package chart

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strconv"
)

// Geometry of a chart, in CSS pixels.
const (
	// Width is the width of the plot and of the chart.
	Width = 240
	// PlotHeight is the height of the tallest bar.
	PlotHeight = 48
	// Height is the chart's height: the plot, then a line of axis hints.
	Height = PlotHeight + 16
)

// Bars is one bar chart.
type Bars struct {
	// Title names the chart, such as "orders: dead letters in the last
	// hour"; the label people and screen readers get adds the totals.
	Title string
	// Per names the period of one bar in the totals, such as "minute".
	Per string
	// Values are the bars, oldest first. A negative value is drawn as 0.
	Values []int64
	// Tips, when there is one per value, are shown on a bar under the
	// pointer, such as "14:05 UTC: 3".
	Tips []string
	// From and To are the axis hints under the first and the last bar,
	// such as "60 min ago" and "now".
	From, To string
	// Class is added to the chart's class, to pick its colours in the
	// stylesheet ("dead", "delivered").
	Class string
}

// bar is one bar's geometry, with its numbers written out.
type bar struct {
	X, Y, W, H string
	Tip        string
}

var svg = template.Must(template.New("chart").Parse(
	`<svg class="chart {{.Class}}" role="img" aria-label="{{.Label}}" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}">` +
		`<title>{{.Label}}</title>` +
		`<line class="baseline" x1="0" y1="{{.Base}}" x2="{{.Width}}" y2="{{.Base}}"></line>` +
		`{{range .Bars}}<rect class="bar" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}">{{if .Tip}}<title>{{.Tip}}</title>{{end}}</rect>{{end}}` +
		`<text class="axis" x="0" y="{{.Height}}" dy="-3">{{.From}}</text>` +
		`<text class="axis" x="{{.Width}}" y="{{.Height}}" dy="-3" text-anchor="end">{{.To}}</text>` +
		`</svg>`))

// Label is the chart's accessible name: its title and totals, such as
// "orders: dead letters in the last hour: 12 in all, at most 5 in one
// minute".
func (b Bars) Label() string {
	var total, most int64
	for _, v := range b.Values {
		total += max(v, 0)
		most = max(most, v)
	}
	return fmt.Sprintf("%s: %d in all, at most %d in one %s", b.Title, total, most, b.Per)
}

// Render draws b: one rect of class "bar" per value, as tall as its share
// of the largest value (a bar that is not zero is at least one pixel
// tall; when every value is zero every bar is empty).
func Render(b Bars) (template.HTML, error) {
	var most int64
	for _, v := range b.Values {
		most = max(most, v)
	}
	bars := make([]bar, len(b.Values))
	slot := float64(Width) / float64(max(len(b.Values), 1))
	gap := min(slot/4, 2)
	for i, v := range b.Values {
		h := 0.0
		if v > 0 && most > 0 {
			h = max(float64(v)*PlotHeight/float64(most), 1)
		}
		bars[i] = bar{X: num(float64(i) * slot), Y: num(PlotHeight - h), W: num(slot - gap), H: num(h)}
		if len(b.Tips) == len(b.Values) {
			bars[i].Tip = b.Tips[i]
		}
	}
	var out bytes.Buffer
	err := svg.Execute(&out, map[string]any{
		"Class": b.Class, "Label": b.Label(), "Width": Width, "Height": Height, "Base": num(PlotHeight + 0.5),
		"Bars": bars, "From": b.From, "To": b.To,
	})
	if err != nil {
		return "", fmt.Errorf("chart: %w", err)
	}
	return template.HTML(out.String()), nil // html/template escaped every value
}

// num writes a coordinate with at most two decimals.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }
