package load

import (
	"errors"
	"testing"
	"time"

	"hotline/internal/client"
)

func TestLossRatio(t *testing.T) {
	cases := []struct {
		what string
		ds   []trackDelta
		want float64
	}{
		{"nothing expected", nil, 0},
		{"no loss", []trackDelta{{expected: 300}, {expected: 150}}, 0},
		{"loss summed over tracks", []trackDelta{{expected: 900, lost: 3}, {expected: 100, lost: 2}}, 0.005},
		// A late packet filled a gap counted lost before the window: that
		// recovery cancels loss inside the window instead of being ignored.
		{"recovery cancels", []trackDelta{{expected: 500, lost: -1}, {expected: 500, lost: 3}}, 0.002},
		{"recoveries alone are not negative loss", []trackDelta{{expected: 100, lost: -2}}, 0},
		{"a track whose counters went backwards adds no expectation", []trackDelta{{expected: -5, lost: 1}, {expected: 100}}, 0.01},
		{"capped at 1", []trackDelta{{expected: 1, lost: 5}}, 1},
	}
	for _, c := range cases {
		if got := lossRatio(c.ds); !near(got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
}

// Window deltas match tracks across snapshots; a track new in the window
// counts from zero; one-way histograms keep only the window's delays.
func TestTrackDeltas(t *testing.T) {
	var before, after client.DelayHistogram
	before.Observe(time.Second)
	after.Observe(time.Second)
	after.Observe(time.Millisecond)
	start := client.Stats{Tracks: []client.TrackStats{
		{Mid: "1", Participant: "a", Track: "cam0", Expected: 1000, Lost: 4, OneWay: before},
		{Mid: "2", Participant: "a", Track: "mic", Expected: 500, Lost: 0},
	}}
	end := client.Stats{Tracks: []client.TrackStats{
		{Mid: "1", Participant: "a", Track: "cam0", Expected: 1300, Lost: 5, OneWay: after},
		{Mid: "2", Participant: "a", Track: "mic", Expected: 650, Lost: 0},
		{Mid: "3", Participant: "b", Track: "mic", Expected: 50, Lost: 1},
	}}
	ds := trackDeltas(start, end)
	if len(ds) != 3 || ds[0].expected != 300 || ds[0].lost != 1 || ds[1].expected != 150 || ds[2].expected != 50 || ds[2].lost != 1 {
		t.Fatalf("deltas %+v", ds)
	}
	if got, want := lossRatio(ds), 2.0/500; !near(got, want) {
		t.Errorf("loss %v, want %v", got, want)
	}
	ow := oneWay(ds)
	if ow.Count() != 1 || ow.Quantile(1) > 2*time.Millisecond {
		t.Errorf("one-way of the window: %d delays, max %v", ow.Count(), ow.Quantile(1))
	}
}

func TestPercentileAndJoinTimes(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	s := []time.Duration{ms(40), ms(10), ms(30), ms(20), ms(50)}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0, ms(10)}, {0.5, ms(30)}, {0.95, ms(48)}, {1, ms(50)}, {0.25, ms(20)}} {
		if got := percentile(s, c.q); got != c.want {
			t.Errorf("q%v: %v, want %v", c.q, got, c.want)
		}
	}
	if s[0] != ms(40) {
		t.Error("percentile sorted its input in place")
	}
	if percentile(nil, 0.5) != 0 || percentile(s[:1], 0.9) != ms(40) {
		t.Error("edge cases")
	}
	times, missing := joinTimes([]client.Stats{
		{Tracks: []client.TrackStats{{JoinToFirstFrame: ms(80)}, {JoinToFirstFrame: 0}}},
		{Tracks: []client.TrackStats{{JoinToFirstFrame: ms(60)}}},
	})
	if len(times) != 2 || missing != 1 {
		t.Errorf("join times %v, %d missing", times, missing)
	}
}

func TestServerWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	bounds := []float64{10e-6, 100e-6, inf}
	a := Sample{At: t0, CPUSeconds: 10, ForwardedPackets: 1000, ForwardedBytes: 1e6,
		Residence: Histogram{Bounds: bounds, Counts: []uint64{1000, 1000, 1000}}}
	b := Sample{At: t0.Add(2 * time.Second), CPUSeconds: 10.5, ForwardedPackets: 11000, ForwardedBytes: 11e6,
		Residence: Histogram{Bounds: bounds, Counts: []uint64{1000, 11000, 11000}}}
	f, err := serverWindow(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// 10000 packets and 10 MB in 2 s on 0.5 s of CPU.
	if !near(f.forwardedPPS, 5000) || !near(f.forwardedMbps, 40) || !near(f.cpuMicrosPerPkt, 50) || !near(f.cpuPercent, 25) {
		t.Errorf("figures %+v", f)
	}
	if !near(f.residenceP50us, 55) || !near(f.residenceP99us, 99.1) {
		t.Errorf("residence %v / %v µs", f.residenceP50us, f.residenceP99us)
	}
	for what, bad := range map[string]Sample{
		"nothing forwarded": {At: b.At, CPUSeconds: 11, ForwardedPackets: 1000, ForwardedBytes: 1e6, Residence: a.Residence},
		"no time passed":    {At: t0, CPUSeconds: 11, ForwardedPackets: 2000, ForwardedBytes: 2e6, Residence: a.Residence},
		"server restarted":  {At: b.At, CPUSeconds: 1, ForwardedPackets: 10, ForwardedBytes: 1e4, Residence: a.Residence},
	} {
		if _, err := serverWindow(a, bad); !errors.Is(err, ErrWindow) {
			t.Errorf("%s: %v", what, err)
		}
	}
}
