package load

import (
	"errors"
	"math"
	"testing"
)

var inf = math.Inf(1)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestQuantileInterpolatesWithinBuckets(t *testing.T) {
	// 10 observations in (0, 10], 30 in (10, 20], 60 in (20, 50], none above.
	h := Histogram{Bounds: []float64{10, 20, 50, inf}, Counts: []uint64{10, 40, 100, 100}}
	cases := []struct{ q, want float64 }{
		{0, 0},       // the lowest bucket starts at 0
		{0.05, 5},    // rank 5 of 10 in (0, 10]
		{0.10, 10},   // the top of the first bucket
		{0.25, 15},   // rank 25: 15 of 30 into (10, 20]
		{0.50, 25},   // rank 50: 10 of 60 into (20, 50] → 20 + 30×10/60
		{0.99, 49.5}, // rank 99: 59 of 60 → 20 + 30×59/60
		{1, 50},
	}
	for _, c := range cases {
		if got := h.Quantile(c.q); !near(got, c.want) {
			t.Errorf("q%v: %v, want %v", c.q, got, c.want)
		}
	}
	// Ranks in the +Inf bucket get the highest finite bound.
	tail := Histogram{Bounds: []float64{1, 2, inf}, Counts: []uint64{50, 90, 100}}
	if got := tail.Quantile(0.95); got != 2 {
		t.Errorf("rank in +Inf: %v, want 2", got)
	}
	// Empty buckets are skipped, not interpolated across.
	gap := Histogram{Bounds: []float64{1, 2, 3, inf}, Counts: []uint64{0, 0, 4, 4}}
	if got := gap.Quantile(0); got != 2 {
		t.Errorf("q0 with empty low buckets: %v, want 2 (the lower bound of the first observation's bucket)", got)
	}
	if got := (Histogram{}).Quantile(0.5); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

// The window's quantiles come from the difference of two scrapes, not from
// everything since the server started.
func TestQuantileOfADelta(t *testing.T) {
	bounds := []float64{10e-6, 20e-6, 50e-6, 100e-6, inf}
	// Before the window: 1000 fast packets (≤ 10 µs).
	before := Histogram{Bounds: bounds, Counts: []uint64{1000, 1000, 1000, 1000, 1000}}
	// In the window: 100 more, 50 in (20, 50] µs and 50 in (50, 100] µs.
	after := Histogram{Bounds: bounds, Counts: []uint64{1000, 1000, 1050, 1100, 1100}}
	w, err := after.Sub(before)
	if err != nil {
		t.Fatal(err)
	}
	if w.Count() != 100 {
		t.Fatalf("window count %d", w.Count())
	}
	if got := w.Quantile(0.5); !near(got, 50e-6) {
		t.Errorf("p50 %v, want 50 µs", got)
	}
	if got := w.Quantile(0.99); !near(got, 99e-6) {
		t.Errorf("p99 %v, want 99 µs (49 of 50 into (50, 100] µs)", got)
	}
	// Over everything, the median would be ≤ 10 µs: the delta matters.
	if after.Quantile(0.5) > 10e-6 {
		t.Errorf("cumulative p50 %v", after.Quantile(0.5))
	}

	if _, err := before.Sub(after); !errors.Is(err, ErrHistogram) {
		t.Errorf("counts going down: %v", err)
	}
	other := Histogram{Bounds: []float64{1, inf}, Counts: []uint64{1, 1}}
	if _, err := after.Sub(other); !errors.Is(err, ErrHistogram) {
		t.Errorf("different buckets: %v", err)
	}
}
