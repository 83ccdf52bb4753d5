package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// report is the benchmark's figures; the JSON names follow `hotline bench
// --json` (snake case, the unit last).
type report struct {
	Browsers          int     `json:"browsers"`
	DurationS         float64 `json:"duration_s"`
	PageQuery         string  `json:"page_query"`
	Tags              string  `json:"tags"`
	LoadAvgStart      string  `json:"load_avg_start"`
	LoadAvgEnd        string  `json:"load_avg_end"`
	ServerCPUPer30s   float64 `json:"server_cpu_s_per_30s"`
	ServerRSSPeakMB   float64 `json:"server_rss_peak_mb"`
	ServerRSSEndMB    float64 `json:"server_rss_end_mb"`
	BrowsersCPUPer30s float64 `json:"browsers_cpu_s_per_30s"`
	G2GP50Ms          float64 `json:"g2g_p50_ms"`
	G2GP90Ms          float64 `json:"g2g_p90_ms"`
	G2GSamples        int     `json:"g2g_samples"`
	// From the sender's capture (Chromium's captureTime of the frame in
	// the sender's preview) rather than its preview; 0 when not given.
	G2GCaptureP50Ms float64 `json:"g2g_capture_p50_ms"`
	G2GCaptureP90Ms float64 `json:"g2g_capture_p90_ms"`
	UnreadFrames    int     `json:"unread_frames"` // frames presented whose barcode did not read
	FPSMin          float64 `json:"fps_min"`
	FPSMean         float64 `json:"fps_mean"`
	JitterBufferMs  float64 `json:"jitter_buffer_ms"`
	Videos          []video `json:"videos"`
	// Late joins: from the call page's navigation start (and from its
	// join message) to the first remote frame presented.
	Joins           []joinReport `json:"joins,omitempty"`
	JoinP50Ms       float64      `json:"join_p50_ms"`
	JoinFromJoinP50 float64      `json:"join_from_join_p50_ms"`
	JoinAllP50Ms    float64      `json:"join_all_p50_ms"`
	JoinError       string       `json:"join_error,omitempty"` // the late join that failed, and how
}

// video is one remote video in one browser.
type video struct {
	Receiver       int     `json:"receiver"`
	Sender         int     `json:"sender"`
	FPS            float64 `json:"fps"`           // decoded (getStats)
	PresentedFPS   float64 `json:"presented_fps"` // presented and read in the page
	JitterBufferMs float64 `json:"jitter_buffer_ms"`
	G2GP50Ms       float64 `json:"g2g_p50_ms"`
	G2GP90Ms       float64 `json:"g2g_p90_ms"`
	G2GSamples     int     `json:"g2g_samples"`
	G2GCaptureP50  float64 `json:"g2g_capture_p50_ms"`
}

// joinReport is one late join, in ms.
type joinReport struct {
	PageToFirstMs float64 `json:"page_to_first_ms"`  // navigation start → first remote frame presented
	JoinToFirstMs float64 `json:"join_to_first_ms"`  // join message sent → first remote frame (0: not seen)
	PageToAllMs   float64 `json:"page_to_all_ms"`    // navigation start → a frame from every other browser (0: see Missing)
	Missing       []int   `json:"missing,omitempty"` // browsers no frame was read from within a minute
}

func (w *window) report(cfg config) *report {
	secs := w.end.Sub(w.start).Seconds()
	per30 := func(d time.Duration) float64 { return d.Seconds() / secs * 30 }
	r := &report{
		Browsers: cfg.browsers, DurationS: secs, PageQuery: cfg.pageQuery, Tags: cfg.tags,
		LoadAvgStart: w.loadStart, LoadAvgEnd: w.loadEnd,
		ServerCPUPer30s: per30(w.serverCPU), BrowsersCPUPer30s: per30(w.browsersCPU),
		ServerRSSPeakMB: float64(w.rssPeak) / 1e6, ServerRSSEndMB: float64(w.rssEnd) / 1e6,
	}
	g2g := w.glassToGlass()
	var all, capture []float64
	for _, d := range g2g {
		all = append(all, d.preview...)
		capture = append(capture, d.capture...)
	}
	r.G2GP50Ms, r.G2GP90Ms, r.G2GSamples = quantile(all, 0.5), quantile(all, 0.9), len(all)
	r.G2GCaptureP50Ms, r.G2GCaptureP90Ms = quantile(capture, 0.5), quantile(capture, 0.9)
	r.UnreadFrames = w.unread
	presented := w.presented()
	var delay, emitted, fpsSum float64
	r.FPSMin = math.Inf(1)
	for receiver := range w.stats1 {
		before := make(map[string]inbound)
		for _, s := range w.stats0[receiver] {
			before[s.ID] = s
		}
		for _, s := range w.stats1[receiver] {
			b, ok := before[s.ID]
			if !ok || s.TS <= b.TS {
				continue // a stream that started during the window
			}
			v := video{Receiver: receiver, Sender: s.Sender, FPS: (s.Frames - b.Frames) / (s.TS - b.TS) * 1000,
				PresentedFPS: float64(presented[[2]int{receiver, s.Sender}]) / secs}
			if n := s.JBCount - b.JBCount; n > 0 {
				v.JitterBufferMs = (s.JBDelay - b.JBDelay) / n * 1000
				delay += s.JBDelay - b.JBDelay
				emitted += n
			}
			if d := g2g[[2]int{receiver, s.Sender}]; d != nil {
				v.G2GP50Ms, v.G2GP90Ms, v.G2GSamples = quantile(d.preview, 0.5), quantile(d.preview, 0.9), len(d.preview)
				v.G2GCaptureP50 = quantile(d.capture, 0.5)
			}
			r.Videos = append(r.Videos, v)
			r.FPSMin = min(r.FPSMin, v.FPS)
			fpsSum += v.FPS
		}
	}
	if len(r.Videos) == 0 {
		r.FPSMin = 0
	} else {
		r.FPSMean = fpsSum / float64(len(r.Videos))
	}
	if emitted > 0 {
		r.JitterBufferMs = delay / emitted * 1000
	}
	sort.Slice(r.Videos, func(i, j int) bool {
		a, b := r.Videos[i], r.Videos[j]
		return a.Receiver < b.Receiver || a.Receiver == b.Receiver && a.Sender < b.Sender
	})
	return r
}

func (r *report) summariseJoins() {
	var page, join, all []float64
	for _, j := range r.Joins {
		page = append(page, j.PageToFirstMs)
		if len(j.Missing) == 0 {
			all = append(all, j.PageToAllMs)
		}
		if j.JoinToFirstMs > 0 {
			join = append(join, j.JoinToFirstMs)
		}
	}
	r.JoinP50Ms, r.JoinFromJoinP50, r.JoinAllP50Ms = quantile(page, 0.5), quantile(join, 0.5), quantile(all, 0.5)
}

// quantile interpolates linearly between the closest ranks; 0 for no
// samples (JSON has no NaN).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

func (r *report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	q := ""
	if r.PageQuery != "" {
		q = ", page query " + r.PageQuery
	}
	if r.Tags != "" {
		q += ", tags " + r.Tags
	}
	fmt.Fprintf(tw, "%d browsers, %.1f s window%s; load average %s at start, %s at end\n", r.Browsers, r.DurationS, q, r.LoadAvgStart, r.LoadAvgEnd)
	fmt.Fprintf(tw, "server CPU per 30 s\t%.2f s\n", r.ServerCPUPer30s)
	fmt.Fprintf(tw, "server RSS peak / end\t%.1f / %.1f MB\n", r.ServerRSSPeakMB, r.ServerRSSEndMB)
	fmt.Fprintf(tw, "all browsers' CPU per 30 s\t%.1f s\n", r.BrowsersCPUPer30s)
	fmt.Fprintf(tw, "glass-to-glass p50 / p90\t%.0f / %.0f ms (%d frames; %d unreadable)\n", r.G2GP50Ms, r.G2GP90Ms, r.G2GSamples, r.UnreadFrames)
	fmt.Fprintf(tw, "  from capture p50 / p90\t%.0f / %.0f ms\n", r.G2GCaptureP50Ms, r.G2GCaptureP90Ms)
	fmt.Fprintf(tw, "decoded fps min / mean\t%.1f / %.1f\n", r.FPSMin, r.FPSMean)
	fmt.Fprintf(tw, "receiver jitter buffer (mean)\t%.0f ms\n", r.JitterBufferMs)
	for _, v := range r.Videos {
		fmt.Fprintf(tw, "  browser %d ← %d\t%.1f fps (%.1f presented), jitter buffer %.0f ms, glass-to-glass %.0f / %.0f ms (%d)\n",
			v.Receiver, v.Sender, v.FPS, v.PresentedFPS, v.JitterBufferMs, v.G2GP50Ms, v.G2GP90Ms, v.G2GSamples)
	}
	if r.JoinError != "" {
		fmt.Fprintf(tw, "late join failed\t%s\n", r.JoinError)
	}
	if len(r.Joins) > 0 {
		var each []string
		for _, j := range r.Joins {
			each = append(each, fmt.Sprintf("%.0f", j.PageToFirstMs))
		}
		fmt.Fprintf(tw, "late join: page → first remote frame p50\t%.0f ms (each: %s)\n", r.JoinP50Ms, strings.Join(each, ", "))
		fmt.Fprintf(tw, "late join: join message → first remote frame p50\t%.0f ms\n", r.JoinFromJoinP50)
		fmt.Fprintf(tw, "late join: page → frames from everyone p50\t%.0f ms\n", r.JoinAllP50Ms)
		for i, j := range r.Joins {
			if len(j.Missing) > 0 {
				fmt.Fprintf(tw, "late join %d: no frame from browsers %v within %v\n", i+1, j.Missing, joinPatience)
			}
		}
	}
	return tw.Flush()
}

func (r *report) writeJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
