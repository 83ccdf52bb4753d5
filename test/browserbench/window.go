package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
// one video track, each [counter, sender, presentation time, capture time]
// in ms since the epoch; the capture time only for the page's own camera,
// 0 if Chromium gave none.
type trackSamples struct {
	ID      string       `json:"id"`
	Local   bool         `json:"local"`
	Samples [][4]float64 `json:"samples"`
}

// window is what was measured between its start and end.
type window struct {
	start, end         time.Time
	loadStart, loadEnd string
	serverCPU          time.Duration
	rssPeak, rssEnd    int64
	browsersCPU        time.Duration
	unread             int              // frames presented whose barcode did not read
	stats0, stats1     [][]inbound      // by receiver
	tracks             [][]trackSamples // by receiver
}

// measureWindow measures cfg.duration of the running call.
func measureWindow(ctx context.Context, cfg config, server int, bs []*browser) (*window, error) {
	w := &window{loadStart: loadAverage()}
	unread := 0
	snapshot := func() (srv, br time.Duration, stats [][]inbound, err error) {
		if srv, err = processCPU(server); err != nil {
			return 0, 0, nil, fmt.Errorf("server CPU: %w", err)
		}
		unread = 0
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
			n, err := eval[int](b, `window.__gbench.unread`)
			if err != nil {
				return 0, 0, nil, err
			}
			unread += n
		}
		return srv, br, stats, nil
	}
	srv0, br0, stats0, err := snapshot()
	if err != nil {
		return nil, err
	}
	w.start, w.stats0, w.unread = time.Now(), stats0, -unread
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
	w.unread += unread
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
				t[i].Samples = slices.DeleteFunc(t[i].Samples, func(s [4]float64) bool { return s[2] < from })
			}
		}
		w.tracks = append(w.tracks, t)
	}
	return w, nil
}

// period is the barcode counter's period in ms: the camera file's length.
const period = float64(camFrames) * 1000 / camFPS

func epochMs(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }

// delays are the glass-to-glass delays of one sender's video at one
// receiver, in ms: from the sender's preview presenting a frame (and, where
// Chromium gave its capture time, from its capture) to the receiver
// presenting it.
type delays struct{ preview, capture []float64 }

// localFrame is one frame of a sender's camera as its page saw it.
type localFrame struct{ presented, captured float64 }

// glassToGlass pairs each frame a receiver presented with the sender's
// local presentation of the same frame: the latest one with the same
// counter before it, less than a period earlier. It returns the delays by
// receiver and sender.
func (w *window) glassToGlass() map[[2]int]*delays {
	// local[sender][counter]: the sender's previews' presentations of
	// that counter, ascending; a repeat within a second (the other
	// preview) is the same capture: the earliest counts.
	local := make(map[int]map[int][]localFrame)
	for _, tracks := range w.tracks {
		for _, tr := range tracks {
			if !tr.Local {
				continue
			}
			for _, s := range tr.Samples {
				sender, counter := int(s[1]), int(s[0])
				if local[sender] == nil {
					local[sender] = make(map[int][]localFrame)
				}
				local[sender][counter] = append(local[sender][counter], localFrame{s[2], s[3]})
			}
		}
	}
	for _, byCounter := range local {
		for counter, fs := range byCounter {
			slices.SortFunc(fs, func(a, b localFrame) int { return cmp.Compare(a.presented, b.presented) })
			kept := fs[:0]
			for _, f := range fs {
				if n := len(kept); n == 0 || f.presented-kept[n-1].presented >= 1000 {
					kept = append(kept, f)
				} else if kept[n-1].captured == 0 {
					kept[n-1].captured = f.captured
				}
			}
			byCounter[counter] = kept
		}
	}
	out := make(map[[2]int]*delays)
	for receiver, tracks := range w.tracks {
		for _, tr := range tracks {
			if tr.Local {
				continue
			}
			for _, s := range tr.Samples {
				sender, counter, t := int(s[1]), int(s[0]), s[2]
				fs := local[sender][counter]
				i, _ := slices.BinarySearchFunc(fs, t, func(f localFrame, t float64) int { return cmp.Compare(f.presented, t) }) // first ≥ t
				if i == 0 || t-fs[i-1].presented >= period {
					continue
				}
				key := [2]int{receiver, sender}
				d := out[key]
				if d == nil {
					d = &delays{}
					out[key] = d
				}
				d.preview = append(d.preview, t-fs[i-1].presented)
				if c := fs[i-1].captured; c > 0 {
					d.capture = append(d.capture, t-c)
				}
			}
		}
	}
	return out
}

// presented counts the remote frames read in the window by receiver and
// sender.
func (w *window) presented() map[[2]int]int {
	out := make(map[[2]int]int)
	for receiver, tracks := range w.tracks {
		for _, tr := range tracks {
			if !tr.Local {
				for _, s := range tr.Samples {
					out[[2]int{receiver, int(s[1])}]++
				}
			}
		}
	}
	return out
}
