package readiness

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Point is one value of a series at a time.
type Point struct {
	At    time.Time
	Value float64
	Label string // the point's tooltip
}

// Series is one line of a plot (a side's figures).
type Series struct {
	Name   string
	Color  string
	Points []Point
}

// Plot geometry, in SVG user units.
const (
	plotW, plotH       = 560, 160
	padL, padR         = 56, 12
	padT, padB         = 12, 28
	innerW, innerH     = plotW - padL - padR, plotH - padT - padB
	maxPointsPerSeries = 2000
)

// SVG draws series over [from, to] as an inline SVG: axes with the range
// of values and times, a polyline per series and a circle per data point
// (class "pt", with a tooltip), so that a reader and a test can see every
// point. Drawn on the server: the page needs no script.
func SVG(title, unit string, from, to time.Time, series []Series) template.HTML {
	lo, hi := 0.0, 0.0
	n := 0
	for _, s := range series {
		for _, p := range s.Points {
			hi = math.Max(hi, p.Value)
			n++
		}
	}
	if hi <= lo {
		hi = lo + 1
	}
	hi *= 1.1
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 { return padL + innerW*math.Max(0, math.Min(1, t.Sub(from).Seconds()/span)) }
	y := func(v float64) float64 { return padT + innerH*(1-(v-lo)/(hi-lo)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" role="img" viewBox="0 0 %d %d" width="%d" height="%d" data-points="%d" aria-label="%s">`,
		plotW, plotH, plotW, plotH, n, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafa" stroke="#ccc"/>`, padL, padT, innerW, innerH)
	for _, v := range []float64{lo, (lo + hi) / 2, hi} {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>`, padL-4, y(v)+3, template.HTMLEscapeString(formatValue(v, unit)))
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`, padL, padL+innerW, y(v), y(v))
	}
	layout := "15:04"
	if span > 2*86400 {
		layout = "01-02"
	}
	for i := 0; i <= 4; i++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x(t), plotH-10, t.UTC().Format(layout))
	}
	for _, s := range series {
		pts := s.Points
		if len(pts) > maxPointsPerSeries {
			pts = pts[len(pts)-maxPointsPerSeries:]
		}
		var line strings.Builder
		for _, p := range pts {
			fmt.Fprintf(&line, "%.1f,%.1f ", x(p.At), y(p.Value))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, s.Color, strings.TrimSpace(line.String()))
		}
		for _, p := range pts {
			fmt.Fprintf(&b, `<circle class="pt" data-series="%s" cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s</title></circle>`,
				template.HTMLEscapeString(s.Name), x(p.At), y(p.Value), s.Color, template.HTMLEscapeString(p.Label))
		}
	}
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="#888">no test call in this period</text>`, padL+innerW/2, padT+innerH/2)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped strings only
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "%":
		return fmt.Sprintf("%.0f%%", v)
	case "ms":
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
}
