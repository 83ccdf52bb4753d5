package browser

import "testing"

// TestE2EEWorkerKeepsOrder: the media worker starts every frame's crypto as
// it arrives (worker.js attach); a burst of 300 frames from 40 B to 30 KB,
// key frames among them, leaves the send and then the receive stream in
// the order it came, none lost, each decrypting to what was sent, and the
// worker's latency counters count every frame (harness/worker_order.js).
func TestE2EEWorkerKeepsOrder(t *testing.T) {
	b, _ := e2eeHarness(t)
	r := runJSModule(t, b, "/harness/worker_order.js", map[string]int{"frames": 300})
	if r.Checked != 8 {
		t.Errorf("checked %d, want 8", r.Checked)
	}
	t.Logf("time in the worker: %s", r.Data)
}
