package load

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Step is the figures of one measured window.
type Step struct {
	Calls        int     `json:"calls"`
	Participants int     `json:"participants"`
	Streams      int     `json:"streams"` // video streams forwarded: calls × P × (P−1)
	DurationS    float64 `json:"duration_s"`

	// Server, from /metrics.
	ForwardedPPS     float64 `json:"forwarded_pps"`
	ForwardedMbps    float64 `json:"forwarded_mbps"`
	CPUMicrosPerPkt  float64 `json:"cpu_us_per_packet"`
	CPURatioToFloor  float64 `json:"cpu_ratio_to_floor"`
	ServerCPUPercent float64 `json:"server_cpu_percent"`
	ResidenceP50us   float64 `json:"residence_p50_us"`
	ResidenceP99us   float64 `json:"residence_p99_us"`
	ResidenceP999us  float64 `json:"residence_p999_us"`
	ServerRSSMB      float64 `json:"server_rss_mb"` // resident set at the end of the window (0: not reported)

	// Endpoints. Join times are those of the calls this step added.
	JoinP50ms   float64 `json:"join_p50_ms"`
	JoinP95ms   float64 `json:"join_p95_ms"`
	OneWayP50ms float64 `json:"oneway_p50_ms"`
	OneWayP99ms float64 `json:"oneway_p99_ms"`
	LossRatio   float64 `json:"loss_ratio"`

	Pass bool `json:"pass"` // within the ramp's bounds (always true without a ramp)
}

// Report is a whole run.
type Report struct {
	FloorMicrosPerPkt float64
	Steps             []Step
	Ramp              bool
	CapacityCalls     int    // ramp: the last step that passed (0: none did)
	CapacityStreams   int    // its streams
	StopReason        string // ramp: why it stopped
	E2EE              bool
	SFrame            *SFrameCost // with E2EE: what encryption costs the endpoints
}

// Headline is the step the report stands for: without a ramp the only one;
// with a ramp the last that passed, or the first if none did.
func (r Report) Headline() Step {
	if len(r.Steps) == 0 {
		return Step{}
	}
	h := r.Steps[0]
	for _, s := range r.Steps {
		if s.Pass {
			h = s
		}
	}
	return h
}

// WriteJSON writes the report as one JSON object on one line: the headline
// step's figures at the top level, plus the floor and, for a ramp, the
// capacity and every step.
func (r Report) WriteJSON(w io.Writer) error {
	type ramp struct {
		CapacityCalls   int    `json:"capacity_calls"`
		CapacityStreams int    `json:"capacity_streams"`
		StopReason      string `json:"stop_reason"`
		Steps           []Step `json:"steps"`
	}
	out := struct {
		Step
		FloorMicrosPerPkt float64     `json:"floor_us_per_packet"`
		E2EE              bool        `json:"e2ee"`
		SFrame            *SFrameCost `json:"sframe,omitempty"`
		*ramp
	}{Step: r.Headline(), FloorMicrosPerPkt: r.FloorMicrosPerPkt, E2EE: r.E2EE, SFrame: r.SFrame}
	if r.Ramp {
		out.ramp = &ramp{r.CapacityCalls, r.CapacityStreams, r.StopReason, r.Steps}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("load: report: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// WriteTable writes one row per step, and the capacity for a ramp.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "calls\tP\tstreams\tfwd pkt/s\tMbit/s\tcpu µs/pkt\t×floor\tcpu %%\tRSS MB\tresidence µs p50/p99/p99.9\tone-way ms p50/p99\tjoin ms p50/p95\tloss %%\t\n")
	for _, s := range r.Steps {
		mark := ""
		if r.Ramp && !s.Pass {
			mark = " (fail)"
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.1f\t%.2f\t%.1f\t%.0f\t%.1f\t%.0f / %.0f / %.0f\t%.2f / %.2f\t%.0f / %.0f\t%.3f%s\t\n",
			s.Calls, s.Participants, s.Streams, s.ForwardedPPS, s.ForwardedMbps, s.CPUMicrosPerPkt, s.CPURatioToFloor,
			s.ServerCPUPercent, s.ServerRSSMB, s.ResidenceP50us, s.ResidenceP99us, s.ResidenceP999us, s.OneWayP50ms, s.OneWayP99ms,
			s.JoinP50ms, s.JoinP95ms, s.LossRatio*100, mark)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("load: table: %w", err)
	}
	fmt.Fprintf(w, "SRTP floor: %.3f µs per forwarded packet (%s)\n", r.FloorMicrosPerPkt, "decrypt once, encrypt and send per subscriber")
	if r.SFrame != nil {
		fmt.Fprintf(w, "end-to-end encryption (SFrame AES_128_GCM_SHA256_128), per frame at each endpoint: seal %.2f µs, open %.2f µs (video frames of %.0f bytes on average)\n",
			r.SFrame.SealMicros, r.SFrame.OpenMicros, r.SFrame.MeanFrameBytes)
	} else {
		fmt.Fprintln(w, "frames not encrypted end to end (run with --e2ee to include it)")
	}
	if r.Ramp {
		fmt.Fprintf(w, "capacity: %d calls, %d streams (%s)\n", r.CapacityCalls, r.CapacityStreams, r.StopReason)
	}
	return nil
}

// round keeps d decimals: the figures are estimates, and long tails of
// digits only make the JSON harder to read.
func round(x float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}
