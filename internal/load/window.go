package load

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"hotline/internal/client"
)

// ErrWindow: the measured window cannot give figures (nothing forwarded,
// counters that went backwards).
var ErrWindow = errors.New("load: measured window")

// serverFigures are the server's side of one window, from two scrapes.
type serverFigures struct {
	seconds          float64
	forwardedPPS     float64
	forwardedMbps    float64
	cpuMicrosPerPkt  float64
	cpuPercent       float64
	residenceP50us   float64
	residenceP99us   float64
	residenceP999us  float64
	forwardedPackets float64
}

// serverWindow turns the scrapes at the start and end of a window into
// rates and residence quantiles.
func serverWindow(a, b Sample) (serverFigures, error) {
	secs := b.At.Sub(a.At).Seconds()
	pkts := b.ForwardedPackets - a.ForwardedPackets
	bytes := b.ForwardedBytes - a.ForwardedBytes
	cpu := b.CPUSeconds - a.CPUSeconds
	switch {
	case secs <= 0:
		return serverFigures{}, fmt.Errorf("%w: %v between the scrapes", ErrWindow, b.At.Sub(a.At))
	case pkts < 0 || bytes < 0 || cpu < 0:
		return serverFigures{}, fmt.Errorf("%w: counters went down (server restarted?)", ErrWindow)
	case pkts == 0:
		return serverFigures{}, fmt.Errorf("%w: the server forwarded nothing", ErrWindow)
	}
	res, err := b.Residence.Sub(a.Residence)
	if err != nil {
		return serverFigures{}, fmt.Errorf("%w: residence: %w", ErrWindow, err)
	}
	return serverFigures{
		seconds:          secs,
		forwardedPPS:     pkts / secs,
		forwardedMbps:    bytes * 8 / secs / 1e6,
		cpuMicrosPerPkt:  cpu / pkts * 1e6,
		cpuPercent:       cpu / secs * 100,
		residenceP50us:   res.Quantile(0.50) * 1e6,
		residenceP99us:   res.Quantile(0.99) * 1e6,
		residenceP999us:  res.Quantile(0.999) * 1e6,
		forwardedPackets: pkts,
	}, nil
}

// trackDelta is one received track over the window: the differences of
// two snapshots of its stats.
type trackDelta struct {
	expected int64 // sequence numbers that came due
	lost     int64 // change of RFC 3550's cumulative loss; negative if late packets filled earlier gaps
	oneWay   client.DelayHistogram
}

// trackDeltas matches the tracks of two snapshots of one client by mid,
// publisher and track id; a track absent at the start counts from zero.
// Tracks that ended before the window have equal counters in both, so they
// add nothing.
func trackDeltas(start, end client.Stats) []trackDelta {
	key := func(t client.TrackStats) string { return t.Mid + "\x00" + t.Participant + "\x00" + t.Track }
	before := make(map[string]client.TrackStats, len(start.Tracks))
	for _, t := range start.Tracks {
		before[key(t)] = t
	}
	out := make([]trackDelta, 0, len(end.Tracks))
	for _, t := range end.Tracks {
		b := before[key(t)]
		out = append(out, trackDelta{
			expected: int64(t.Expected) - int64(b.Expected),
			lost:     int64(t.Lost) - int64(b.Lost),
			oneWay:   t.OneWay.Sub(b.OneWay),
		})
	}
	return out
}

// lossRatio is the packets lost over the packets expected, summed over
// every track. Loss is cumulative per RFC 3550 and can shrink when a late
// packet fills a gap counted earlier; summing the signed changes before
// clamping lets such recoveries cancel the loss they had caused.
func lossRatio(ds []trackDelta) float64 {
	var expected, lost int64
	for _, d := range ds {
		expected += max(d.expected, 0)
		lost += d.lost
	}
	if expected == 0 || lost <= 0 {
		return 0
	}
	return min(float64(lost)/float64(expected), 1)
}

// oneWay merges the tracks' one-way delays of the window.
func oneWay(ds []trackDelta) client.DelayHistogram {
	var h client.DelayHistogram
	for _, d := range ds {
		h.Add(d.oneWay)
	}
	return h
}

// joinTimes lists JoinToFirstFrame over every (client, remote track) pair,
// and how many pairs have none yet.
func joinTimes(stats []client.Stats) (times []time.Duration, missing int) {
	for _, s := range stats {
		for _, t := range s.Tracks {
			if t.JoinToFirstFrame > 0 {
				times = append(times, t.JoinToFirstFrame)
			} else {
				missing++
			}
		}
	}
	return times, missing
}

// percentile returns the q-quantile of samples (0 ≤ q ≤ 1), interpolating
// linearly between the closest ranks; 0 for no samples.
func percentile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	pos := min(max(q, 0), 1) * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i == len(s)-1 {
		return s[i]
	}
	frac := pos - float64(i)
	return s[i] + time.Duration(math.Round(frac*float64(s[i+1]-s[i])))
}
