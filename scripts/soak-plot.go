//go:build ignore

// soak-plot draws the server's RSS over time from the CSV of
// `hotline bench --soak ... --csv FILE` as a small SVG:
//
//	go run scripts/soak-plot.go < soak.csv > docs/soak-rss.svg
package main

import (
	"encoding/csv"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
)

func main() {
	rows, err := csv.NewReader(os.Stdin).ReadAll()
	if err != nil || len(rows) < 3 {
		log.Fatalf("soak-plot: need a header and at least two samples (%v)", err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var ts, mb []float64
	for _, r := range rows[1:] {
		t, err1 := strconv.ParseFloat(r[col["elapsed_s"]], 64)
		b, err2 := strconv.ParseFloat(r[col["rss_bytes"]], 64)
		if err1 != nil || err2 != nil {
			log.Fatalf("soak-plot: bad row %q", r)
		}
		ts, mb = append(ts, t/60), append(mb, b/1e6)
	}
	const w, h, left, bottom = 600.0, 240.0, 50.0, 30.0
	tmax, ymax := ts[len(ts)-1], 0.0
	for _, v := range mb {
		ymax = max(ymax, v)
	}
	ymax = float64(int(ymax/10)+1) * 10 // the axis starts at 0: growth shows at its true scale
	x := func(t float64) float64 { return left + t/tmax*(w-left-10) }
	y := func(v float64) float64 { return h - bottom - v/ymax*(h-bottom-10) }
	var pts []string
	for i := range ts {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(ts[i]), y(mb[i])))
	}
	fmt.Printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">
<rect width="100%%" height="100%%" fill="white"/>
<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>
<line x1="%.0f" y1="%.0f" x2="%.0f" y2="10" stroke="black"/>
<text x="%.0f" y="%.0f" text-anchor="end">0</text>
<text x="%.0f" y="14" text-anchor="end">%.0f MB</text>
<text x="%.0f" y="%.0f" text-anchor="end">%.0f min</text>
<text x="%.0f" y="%.0f">server RSS during the soak</text>
<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="%s"/>
</svg>
`, w, h, left, h-bottom, w-10, h-bottom, left, h-bottom, left,
		left-4, h-bottom, left-4, ymax, w-10, h-8, tmax, left+10, 22.0, strings.Join(pts, " "))
}
