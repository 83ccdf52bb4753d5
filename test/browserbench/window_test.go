package main

import (
	"slices"
	"testing"
)

// A presented remote frame pairs with the latest earlier presentation of
// the same counter in the sender's previews (the earlier of two previews,
// not one a loop before), and a frame with no preview presentation is left
// out.
func TestGlassToGlass(t *testing.T) {
	w := &window{tracks: [][]trackSamples{
		{ // browser 0, the sender: two previews of its camera
			{ID: "page-preview", Local: true, Samples: [][4]float64{{5, 0, 1002, 0}, {5, 0, 1002 + period, 0}}},
			{ID: "tool-preview", Local: true, Samples: [][4]float64{{5, 0, 1000, 990}, {6, 0, 1033, 1020}}},
		},
		{ // browser 1, the receiver
			{ID: "remote", Samples: [][4]float64{
				{5, 0, 1080, 0},          // 80 ms after the earlier preview
				{6, 0, 1100, 0},          // 67 ms
				{7, 0, 1120, 0},          // never previewed: left out
				{5, 0, 1050 + period, 0}, // the next loop: 48 ms after the page's preview
			}},
		},
	}}
	d := w.glassToGlass()[[2]int{1, 0}]
	if d == nil {
		t.Fatal("no delays for browser 1 ← 0")
	}
	if want := []float64{80, 67, 48}; !slices.Equal(d.preview, want) {
		t.Errorf("delays from the preview %v, want %v", d.preview, want)
	}
	if want := []float64{90, 80}; !slices.Equal(d.capture, want) {
		t.Errorf("delays from the capture %v, want %v", d.capture, want)
	}
	if len(w.glassToGlass()) != 1 {
		t.Errorf("delays for pairs other than 1 ← 0: %v", w.glassToGlass())
	}
}

func TestQuantile(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{nil, 0.5, 0},
		{[]float64{7}, 0.9, 7},
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{10, 20}, 0.9, 19},
	} {
		if got := quantile(c.xs, c.q); got != c.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", c.xs, c.q, got, c.want)
		}
	}
}
