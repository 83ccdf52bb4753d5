package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"
)

// inbound mirrors one entry of __gbench.stats() (measure.js): an
// inbound-rtp video stream's counters from getStats.
type inbound struct {
	ID      string  `json:"id"`
	Sender  int     `json:"sender"` // from the barcode; -1 if none read yet
	Frames  float64 `json:"frames"` // framesDecoded
	JBDelay float64 `json:"jbDelay"`
	JBCount float64 `json:"jbCount"`
	TS      float64 `json:"ts"` // ms
}

// trackSamples mirrors one entry of __gbench.samples(): the frames read in
// one video track, each [counter, sender, presentation time in ms since
// the epoch].
type trackSamples struct {
	ID      string       `json:"id"`
	Local   bool         `json:"local"`
	Samples [][3]float64 `json:"samples"`
}

// window is what was measured between its start and end.
type window struct {
	start, end         time.Time
	loadStart, loadEnd string
	serverCPU          time.Duration
	rssPeak, rssEnd    int64
	browsersCPU        time.Duration
	stats0, stats1     [][]inbound      // by receiver
	tracks             [][]trackSamples // by receiver
}

// measureWindow measures cfg.duration of the running call.
func measureWindow(ctx context.Context, cfg config, server int, bs []*browser) (*window, error) {
	w := &window{loadStart: loadAverage()}
	snapshot := func() (srv, br time.Duration, stats [][]inbound, err error) {
		if srv, err = processCPU(server); err != nil {
			return 0, 0, nil, fmt.Errorf("server CPU: %w", err)
		}
		for _, b := range bs {
			c, err := treeCPU(b.pid)
			if err != nil {
				return 0, 0, nil, fmt.Errorf("browser %d CPU: %w", b.index, err)
			}
			br += c
			s, err := eval[[]inbound](b, `window.__gbench.stats()`)
			if err != nil {
				return 0, 0, nil, err
			}
			stats = append(stats, s)
		}
		return srv, br, stats, nil
	}
	srv0, br0, stats0, err := snapshot()
	if err != nil {
		return nil, err
	}
	w.start, w.stats0 = time.Now(), stats0
	cfg.log.Info("window started", "duration", cfg.duration, "load", w.loadStart)
	for end := w.start.Add(cfg.duration); time.Now().Before(end); {
		if err := sleep(ctx, min(time.Second, time.Until(end))); err != nil {
			return nil, err
		}
		rss, _, err := memory(server)
		if err != nil {
			return nil, fmt.Errorf("server memory: %w", err)
		}
		w.rssPeak = max(w.rssPeak, rss)
	}
	srv1, br1, stats1, err := snapshot()
	if err != nil {
		return nil, err
	}
	w.end, w.stats1 = time.Now(), stats1
	w.serverCPU, w.browsersCPU = srv1-srv0, br1-br0
	if w.rssEnd, _, err = memory(server); err != nil {
		return nil, fmt.Errorf("server memory: %w", err)
	}
	w.rssPeak = max(w.rssPeak, w.rssEnd)
	w.loadEnd = loadAverage()
	// Local frames are fetched from before the window: a frame presented
	// remotely at its start was captured earlier.
	from, to := epochMs(w.start), epochMs(w.end)
	for _, b := range bs {
		t, err := eval[[]trackSamples](b, fmt.Sprintf(`window.__gbench.samples(%f, %f)`, from-period, to))
		if err != nil {
			return nil, err
		}
		for i := range t {
			if !t[i].Local {
				t[i].Samples = slices.DeleteFunc(t[i].Samples, func(s [3]float64) bool { return s[2] < from })
			}
		}
		w.tracks = append(w.tracks, t)
	}
	return w, nil
}

// period is the barcode counter's period in ms: the camera file's length.
const period = float64(camFrames) * 1000 / camFPS

func epochMs(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }

// glassToGlass pairs each frame a receiver presented with the sender's
// local presentation of the same frame: the latest one with the same
// counter before it, less than a period earlier. It returns the delays in
// ms by receiver and sender.
func (w *window) glassToGlass() map[[2]int][]float64 {
	// local[sender][counter]: the times the sender's previews presented
	// that counter, ascending; a repeat within a second (the other
	// preview) is the same capture: the earliest counts.
	local := make(map[int]map[int][]float64)
	for _, tracks := range w.tracks {
		for _, tr := range tracks {
			if !tr.Local {
				continue
			}
			for _, s := range tr.Samples {
				sender, counter := int(s[1]), int(s[0])
				if local[sender] == nil {
					local[sender] = make(map[int][]float64)
				}
				local[sender][counter] = append(local[sender][counter], s[2])
			}
		}
	}
	for _, byCounter := range local {
		for counter, ts := range byCounter {
			sort.Float64s(ts)
			kept := ts[:0]
			for _, t := range ts {
				if n := len(kept); n == 0 || t-kept[n-1] >= 1000 {
					kept = append(kept, t)
				}
			}
			byCounter[counter] = kept
		}
	}
	out := make(map[[2]int][]float64)
	for receiver, tracks := range w.tracks {
		for _, tr := range tracks {
			if tr.Local {
				continue
			}
			for _, s := range tr.Samples {
				sender, counter, t := int(s[1]), int(s[0]), s[2]
				ts := local[sender][counter]
				i := sort.SearchFloat64s(ts, t) // first ≥ t
				if i == 0 || t-ts[i-1] >= period {
					continue
				}
				key := [2]int{receiver, sender}
				out[key] = append(out[key], t-ts[i-1])
			}
		}
	}
	return out
}
