package load

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Histogram is a Prometheus histogram as scraped: cumulative counts at
// ascending upper bounds, the last of which is +Inf.
type Histogram struct {
	Bounds []float64 // upper bounds ("le"), ascending, ending with +Inf
	Counts []uint64  // cumulative: observations ≤ the bound
}

// ErrHistogram: two histograms do not describe the same series.
var ErrHistogram = errors.New("load: histograms do not match")

// Count is the number of observations.
func (h Histogram) Count() uint64 {
	if len(h.Counts) == 0 {
		return 0
	}
	return h.Counts[len(h.Counts)-1]
}

// Sub returns the observations made between an earlier scrape and h. Both
// must have the same buckets, and no count may have gone down (a server
// restarted in between would).
func (h Histogram) Sub(earlier Histogram) (Histogram, error) {
	if !slices.Equal(h.Bounds, earlier.Bounds) || len(h.Counts) != len(earlier.Counts) {
		return Histogram{}, fmt.Errorf("%w: different buckets", ErrHistogram)
	}
	out := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts))}
	for i, c := range h.Counts {
		if c < earlier.Counts[i] {
			return Histogram{}, fmt.Errorf("%w: bucket le=%g went from %d down to %d (server restarted?)",
				ErrHistogram, h.Bounds[i], earlier.Counts[i], c)
		}
		out.Counts[i] = c - earlier.Counts[i]
	}
	return out, nil
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the observations, as
// Prometheus's histogram_quantile does: it finds the bucket holding the
// observation of rank q×count and interpolates linearly between its bounds,
// assuming observations spread evenly inside it. The first bucket starts at
// 0 (durations are never negative). A rank in the +Inf bucket returns the
// highest finite bound, the best the buckets can say. An empty histogram
// returns 0.
func (h Histogram) Quantile(q float64) float64 {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := min(max(q, 0), 1) * float64(total)
	var prev uint64 // cumulative count below bucket i
	for i, c := range h.Counts {
		if c > prev && float64(c) >= rank {
			upper := h.Bounds[i]
			if math.IsInf(upper, 1) {
				if i == 0 {
					return 0
				}
				return h.Bounds[i-1]
			}
			lower := 0.0
			if i > 0 {
				lower = h.Bounds[i-1]
			}
			return lower + (upper-lower)*(rank-float64(prev))/float64(c-prev)
		}
		prev = c
	}
	return 0 // unreachable for a well-formed histogram: the last count is the total
}
