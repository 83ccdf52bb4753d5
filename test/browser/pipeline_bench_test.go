package browser

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkCallPipeline: browsers in one call, each receiving every other,
// measured through the page over a window after a warm-up: decoded frames
// per second and the jitter buffer's mean delay of every received video
// (getStats), and the time frames spend in the media worker (worker.js
// stats.latency). $HOTLINE_PAGE_QUERY is appended to each call page's
// address: with a binary built with -tags e2eebypass, "e2ee=bypass" gives
// the same pipeline without SFrame (docs/PERFORMANCE.md, "E2EE bypass").
// $HOTLINE_BENCH_BROWSERS (default 2) and $HOTLINE_BENCH_WINDOW (default
// 20s) set the size and the window. Run with -benchtime 1x.
func BenchmarkCallPipeline(b *testing.B) {
	n := 2
	if v, err := strconv.Atoi(os.Getenv("HOTLINE_BENCH_BROWSERS")); err == nil && v >= 2 {
		n = v
	}
	window := 20 * time.Second
	if v, err := time.ParseDuration(os.Getenv("HOTLINE_BENCH_WINDOW")); err == nil && v > 0 {
		window = v
	}
	query := os.Getenv("HOTLINE_PAGE_QUERY")
	for range b.N {
		srv := startServer(b)
		var bs []*browser
		for i := range n {
			name := fmt.Sprintf("p%d", i)
			br := newBrowser(b, name, 640, 480)
			br.open(srv.URL() + "/call/bench?name=" + name + "&autojoin=1&" + query)
			bs = append(bs, br)
		}
		for _, br := range bs {
			for _, other := range bs {
				if other != br {
					br.waitVideoGrowing(other.name)
				}
			}
		}
		time.Sleep(5 * time.Second) // warm-up: bitrate and jitter buffer settle
		before := make([]pipelineSample, n)
		for i, br := range bs {
			before[i] = samplePipeline(br)
		}
		time.Sleep(window)
		var fps, jb, send, recv, sendN, recvN float64
		var videos int
		var over5, maxMs float64
		bypass := true
		for i, br := range bs {
			after := samplePipeline(br)
			for id, v := range after.video {
				w := before[i].video[id]
				if v.emitted <= w.emitted {
					continue
				}
				videos++
				fps += float64(v.decoded-w.decoded) / window.Seconds()
				jb += (v.jbDelay - w.jbDelay) / float64(v.emitted-w.emitted) * 1000
			}
			ls, lb := after.frames.Latency["send"], before[i].frames.Latency["send"]
			lr, lrb := after.frames.Latency["recv"], before[i].frames.Latency["recv"]
			send += ls.SumMs - lb.SumMs
			sendN += float64(ls.N - lb.N)
			recv += lr.SumMs - lrb.SumMs
			recvN += float64(lr.N - lrb.N)
			over5 += float64(ls.Over5ms - lb.Over5ms + lr.Over5ms - lrb.Over5ms)
			maxMs = max(maxMs, ls.MaxMs, lr.MaxMs)
			bypass = bypass && after.frames.Bypass
		}
		if videos == 0 {
			b.Fatalf("no received video measured")
		}
		sendN, recvN = max(sendN, 1), max(recvN, 1) // a worker without latency counters (an older build) reads 0
		load, _ := os.ReadFile("/proc/loadavg")
		b.Logf("%d browsers, query %q, bypass %v: %d received videos, %.1f fps, jitter buffer %.1f ms mean; worker: send %.0f µs, recv %.0f µs mean per frame, %v frames over 5 ms, max %.1f ms; loadavg %s",
			n, query, bypass, videos, fps/float64(videos), jb/float64(videos), send/sendN*1000, recv/recvN*1000, over5, maxMs, load)
		b.ReportMetric(fps/float64(videos), "fps")
		b.ReportMetric(jb/float64(videos), "jitterbuffer-ms")
		b.ReportMetric(send/sendN*1000, "worker-send-µs")
		b.ReportMetric(recv/recvN*1000, "worker-recv-µs")
	}
}

type pipelineSample struct {
	frames frameCounts
	video  map[string]struct {
		decoded, emitted int64
		jbDelay          float64
	}
}

func samplePipeline(br *browser) pipelineSample {
	s := pipelineSample{frames: br.frames(), video: map[string]struct {
		decoded, emitted int64
		jbDelay          float64
	}{}}
	raw := eval[json.RawMessage](br, `window.hotline.stats().then(rs => rs.filter(r => r.type === 'inbound-rtp' && r.kind === 'video'))`)
	var rs []struct {
		ID                       string  `json:"id"`
		FramesDecoded            int64   `json:"framesDecoded"`
		JitterBufferDelay        float64 `json:"jitterBufferDelay"`
		JitterBufferEmittedCount int64   `json:"jitterBufferEmittedCount"`
	}
	if err := json.Unmarshal(raw, &rs); err != nil {
		br.t.Fatalf("%s: inbound-rtp stats %s: %v", br.name, raw, err)
	}
	for _, r := range rs {
		s.video[r.ID] = struct {
			decoded, emitted int64
			jbDelay          float64
		}{r.FramesDecoded, r.JitterBufferEmittedCount, r.JitterBufferDelay}
	}
	return s
}
