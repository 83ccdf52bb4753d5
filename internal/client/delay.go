package client

import (
	"math"
	"time"
)

// The one-way delay histogram: log-spaced buckets from delayMin to maxOneWay,
// delayPerDecade per decade (each about 12 % wide), plus one bucket below
// delayMin. Fixed size, so a track that runs for days costs the same memory
// as one that runs for a second.
const (
	delayMin       = 10 * time.Microsecond
	delayPerDecade = 20
	delayDecades   = 6 // 10 µs … 10 s
	delayBuckets   = 1 + delayPerDecade*delayDecades
)

// DelayHistogram counts delays in fixed log-spaced buckets. The zero value
// is empty and ready. Histograms of several tracks merge by Add, and the
// delays of a time window are the difference of two snapshots (Sub).
type DelayHistogram struct {
	counts [delayBuckets]uint64
}

// delayBucket returns the bucket of d: 0 below delayMin, then log-spaced;
// the last bucket also takes anything beyond maxOneWay.
func delayBucket(d time.Duration) int {
	if d < delayMin {
		return 0
	}
	i := 1 + int(math.Log10(float64(d)/float64(delayMin))*delayPerDecade)
	return min(i, delayBuckets-1)
}

// delayBounds returns the lower and upper bounds of bucket i.
func delayBounds(i int) (lo, hi float64) {
	if i == 0 {
		return 0, float64(delayMin)
	}
	lo = float64(delayMin) * math.Pow(10, float64(i-1)/delayPerDecade)
	hi = float64(delayMin) * math.Pow(10, float64(i)/delayPerDecade)
	return lo, hi
}

// Observe counts one delay.
func (h *DelayHistogram) Observe(d time.Duration) { h.counts[delayBucket(d)]++ }

// Add adds o's counts to h (merging tracks).
func (h *DelayHistogram) Add(o DelayHistogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Sub returns h minus an earlier snapshot of the same histogram: the delays
// observed in between. A bucket that went down (not an earlier snapshot of
// h) counts as 0.
func (h DelayHistogram) Sub(earlier DelayHistogram) DelayHistogram {
	var out DelayHistogram
	for i, c := range h.counts {
		if c > earlier.counts[i] {
			out.counts[i] = c - earlier.counts[i]
		}
	}
	return out
}

// Count is the number of delays observed.
func (h DelayHistogram) Count() uint64 {
	var n uint64
	for _, c := range h.counts {
		n += c
	}
	return n
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1), interpolating linearly within
// the bucket where the rank falls; 0 for an empty histogram. The answer is
// within one bucket width (12 %) of the true value.
func (h DelayHistogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(total)
	var cum float64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		next := cum + float64(c)
		if next >= rank {
			lo, hi := delayBounds(i)
			return time.Duration(lo + (hi-lo)*(rank-cum)/float64(c))
		}
		cum = next
	}
	_, hi := delayBounds(delayBuckets - 1)
	return time.Duration(hi)
}

// delayMeter measures the one-way delay of one received track: once per
// frame, at its first packet to arrive (the one closest to the send time),
// so that a large video frame counts once, like a one-packet audio frame.
// Not safe for concurrent use; its owner locks around it.
type delayMeter struct {
	clockRate uint32
	started   bool
	lastTS    uint32 // timestamp of the newest frame seen
	hist      DelayHistogram
}

// observe accounts for one packet that arrived at arrival with timestamp ts.
// Packets of frames already seen (later packets, reordered or retransmitted
// ones) are skipped: the timestamp must move forward (modulo 2^32).
func (m *delayMeter) observe(ts uint32, arrival time.Time) {
	if m.started && int32(ts-m.lastTS) <= 0 {
		return
	}
	m.started, m.lastTS = true, ts
	if d, ok := oneWayDelay(arrival, ts, m.clockRate); ok {
		m.hist.Observe(d)
	}
}
