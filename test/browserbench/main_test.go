package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"hotline/internal/tier"
)

// The benchmark runs end to end with two browsers for a few seconds and
// its figures are sane: every remote video decodes frames, glass-to-glass
// is read from the barcodes and is finite and positive, the server and the
// browsers used CPU, and the late joiner saw frames. Figures are not
// compared with any bound (speed is for benchmarks, not tests). Under CI a
// missing Chromium fails (run refuses to start without one).
func TestSmoke(t *testing.T) {
	tier.Browser(t)
	if !loopbackOnly() {
		t.Fatal("not in a loopback-only network namespace: run through scripts/test.sh")
	}
	var out, diag bytes.Buffer
	cfg, err := parseFlags([]string{"-browsers", "2", "-duration", "3s", "-warmup", "1s", "-json", "-width", "640", "-height", "480"}, &diag)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, diag.String())
	}
	t.Logf("table:\n%s", diag.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("last line of stdout is not the JSON report: %v\n%s", err, out.String())
	}
	positive := func(name string, v float64) {
		t.Helper()
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want finite and positive", name, v)
		}
	}
	positive("server_cpu_s_per_30s", r.ServerCPUPer30s)
	positive("browsers_cpu_s_per_30s", r.BrowsersCPUPer30s)
	positive("server_rss_peak_mb", r.ServerRSSPeakMB)
	positive("g2g_p50_ms", r.G2GP50Ms)
	positive("g2g_p90_ms", r.G2GP90Ms)
	positive("fps_min", r.FPSMin)
	positive("jitter_buffer_ms", r.JitterBufferMs)
	positive("join_p50_ms", r.JoinP50Ms)
	if len(r.Videos) != 2 {
		t.Errorf("%d remote videos measured, want 2 (each browser receives the other): %+v", len(r.Videos), r.Videos)
	}
	for _, v := range r.Videos {
		if v.Sender == v.Receiver || v.Sender < 0 || v.Sender > 1 {
			t.Errorf("browser %d: video from sender %d, want the other browser", v.Receiver, v.Sender)
		}
		if v.G2GSamples == 0 || !(v.FPS > 0) {
			t.Errorf("browser %d ← %d: %d glass-to-glass samples, %v fps", v.Receiver, v.Sender, v.G2GSamples, v.FPS)
		}
	}
	if r.G2GP90Ms < r.G2GP50Ms {
		t.Errorf("glass-to-glass p90 %v < p50 %v", r.G2GP90Ms, r.G2GP50Ms)
	}
	if len(r.Joins) != 1 || !(r.Joins[0].JoinToFirstMs > 0) || r.Joins[0].JoinToFirstMs > r.Joins[0].PageToFirstMs {
		t.Errorf("late join %+v: want the join message seen, before the first frame, after navigation", r.Joins)
	}
}

// A frame's barcode holds its counter and sender, and the complement
// that lets a reader reject a misread.
func TestBarcode(t *testing.T) {
	for _, c := range []struct{ counter, sender int }{{0, 0}, {1, 0}, {camFrames - 1, maxSenders - 1}, {170, 5}} {
		bits := barcode(c.counter, c.sender)
		v := 0
		for i := range dataBits {
			if bits[i] {
				v |= 1 << i
			}
			if bits[i] == bits[dataBits+i] {
				t.Errorf("%+v: block %d equals its complement block", c, i)
			}
		}
		if got := (counterAndSender{v & (1<<counterBits - 1), v >> counterBits}); got != (counterAndSender{c.counter, c.sender}) {
			t.Errorf("barcode(%d, %d) reads back as %+v", c.counter, c.sender, got)
		}
	}
	if camFrames > 1<<counterBits {
		t.Errorf("%d frames do not fit a %d-bit counter", camFrames, counterBits)
	}
	if barCols*barRows != 2*dataBits {
		t.Errorf("%d blocks for %d data bits and their complement", barCols*barRows, dataBits)
	}
}

type counterAndSender struct{ counter, sender int }
