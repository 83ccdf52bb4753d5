package browser

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// Frame sizes of the workloads: VP8 at 320x240 (about 300 kbit/s:
// 1.2 KB delta frames, 8 KB key frames) and 640x360 (about 1 Mbit/s: 4.2 KB
// delta, 25 KB key).
var benchFrameSizes = []int{1200, 8000, 4200, 25000}

// BenchmarkSFrameWorker: SFrame encrypt + decrypt of one frame in a module
// Worker of real Chromium, as the client's media worker runs it, by frame
// size: awaited one at a time (serial, the latency a frame sees) and 16 at
// once (throughput). The "noble" run does the same SFrame with
// @noble/ciphers' synchronous AES-GCM, unpacked into $HOTLINE_NOBLE (see
// docs/PERFORMANCE.md for the commands). $HOTLINE_SFRAME_B names another
// sframe.js by URL (e.g. /harness/sframe_old.js, a copy of an earlier
// version put there by hand) to time against the embedded one. Each figure
// is the median of 5 rounds of 400 frames; run with -benchtime 1x.
func BenchmarkSFrameWorker(b *testing.B) {
	impls := []string{"sframe", "noble"}
	if os.Getenv("HOTLINE_SFRAME_B") != "" {
		impls = append(impls, "b")
	}
	for _, impl := range impls {
		b.Run(impl, func(b *testing.B) {
			if impl == "noble" && os.Getenv("HOTLINE_NOBLE") == "" {
				b.Skip("HOTLINE_NOBLE is not set: no @noble/ciphers to compare with")
			}
			arg := map[string]any{"impl": impl, "sizes": benchFrameSizes, "frames": 400, "rounds": 5, "inflight": 16}
			if impl == "b" {
				arg["impl"], arg["lib"] = "sframe", os.Getenv("HOTLINE_SFRAME_B")
			}
			br, _ := jsHarness(b)
			for range b.N {
				r := runJSModule(b, br, "/harness/sframe_bench.js", arg)
				var res []struct {
					Size         int     `json:"size"`
					SerialUs     float64 `json:"serialUs"`
					ThroughputUs float64 `json:"throughputUs"`
				}
				if err := json.Unmarshal(r.Data, &res); err != nil || len(res) != len(benchFrameSizes) {
					b.Fatalf("results %s: %v", r.Data, err)
				}
				for _, x := range res {
					b.Logf("%s %6d B: encrypt+decrypt %7.1f µs awaited one by one, %7.1f µs each 16 at once", impl, x.Size, x.SerialUs, x.ThroughputUs)
					b.ReportMetric(x.SerialUs, fmt.Sprintf("µs-serial-%dB", x.Size))
					b.ReportMetric(x.ThroughputUs, fmt.Sprintf("µs-16-%dB", x.Size))
				}
			}
		})
	}
}
