package probe

import "fmt"

// State is the line's readiness as the latest test calls show it.
type State string

const (
	Unknown  State = "unknown"  // no test call judged yet
	Green    State = "green"    // both sides met, decrypted each other and agree on the code, within the thresholds
	Degraded State = "degraded" // both met, but a figure crossed a threshold
	Down     State = "down"     // a side could not meet the other, decrypt it, or the codes differ
)

// Thresholds are where a figure makes the line degraded.
type Thresholds struct {
	MaxLoss     float64 // fraction of packets lost
	MaxRTTMs    float64
	MaxJitterMs float64
	MaxJoinMs   int64
	MinBitrate  float64 // fraction of the target bitrate received
}

// DefaultThresholds are the operator's defaults: a line worth using.
var DefaultThresholds = Thresholds{MaxLoss: 0.02, MaxRTTMs: 400, MaxJitterMs: 60, MaxJoinMs: 10_000, MinBitrate: 0.5}

// Verdict is the line's state with its reason and the run it comes from.
type Verdict struct {
	State  State  `json:"state"`
	Reason string `json:"reason"`
	Run    string `json:"run,omitempty"`
}

// Judge gives the line's state from its runs, newest first, each the
// results stored for one test call, for the line's two sides. A run where a
// side failed is down at once; a run with both sides' successes is judged
// on its figures; a run with one success and no word from the other side
// yet is still going on, and the previous run decides.
func Judge(runs [][]Result, sides [2]string, th Thresholds) Verdict {
	for _, run := range runs {
		if v, final := judgeRun(run, sides, th); final {
			return v
		}
	}
	return Verdict{State: Unknown, Reason: "no test call judged yet"}
}

func judgeRun(run []Result, sides [2]string, th Thresholds) (Verdict, bool) {
	if len(run) == 0 {
		return Verdict{}, false
	}
	name := run[0].Run
	by := make(map[string]Result, 2)
	for _, r := range run {
		if !r.OK {
			return Verdict{State: Down, Reason: fmt.Sprintf("%s: %s", r.Side, r.Reason), Run: name}, true
		}
		by[r.Side] = r
	}
	a, okA := by[sides[0]]
	b, okB := by[sides[1]]
	if !okA || !okB {
		return Verdict{}, false
	}
	if a.CodeDigest != b.CodeDigest {
		return Verdict{State: Down, Reason: "the two probes computed different verification codes", Run: name}, true
	}
	for _, r := range []Result{a, b} {
		if why := th.crossed(r); why != "" {
			return Verdict{State: Degraded, Reason: fmt.Sprintf("%s: %s", r.Side, why), Run: name}, true
		}
	}
	return Verdict{State: Green, Reason: "both sides met, decrypted each other and agree on the code", Run: name}, true
}

// crossed names the first figure of r over its threshold, or "".
func (th Thresholds) crossed(r Result) string {
	switch {
	case r.Loss > th.MaxLoss:
		return fmt.Sprintf("loss %.1f%% over %.1f%%", r.Loss*100, th.MaxLoss*100)
	case r.RTTMs > th.MaxRTTMs:
		return fmt.Sprintf("round trip %.0f ms over %.0f ms", r.RTTMs, th.MaxRTTMs)
	case r.JitterMs > th.MaxJitterMs:
		return fmt.Sprintf("jitter %.0f ms over %.0f ms", r.JitterMs, th.MaxJitterMs)
	case r.JoinMs > th.MaxJoinMs:
		return fmt.Sprintf("join took %d ms, over %d ms", r.JoinMs, th.MaxJoinMs)
	case r.TargetKbps > 0 && r.BitrateKbps < th.MinBitrate*r.TargetKbps:
		return fmt.Sprintf("bitrate %.0f kbit/s under %.0f%% of %.0f kbit/s", r.BitrateKbps, th.MinBitrate*100, r.TargetKbps)
	}
	return ""
}
