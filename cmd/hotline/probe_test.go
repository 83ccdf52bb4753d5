package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"

	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// TestProbeOnceJSON: two native probes, one per side of the demo line, meet
// in a test call through the real path and each prints one JSON object with
// every figure present and sane (bounds of what can be, not of how fast
// the machine is); both results are stored on the server.
func TestProbeOnceJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("a test call of a few seconds")
	}
	srv := servertest.Start(t, server.Config{}, nil)
	devs := map[string]string{
		demo.East: srv.DeviceFile(t, demo.East, "East Probe", role.Probe),
		demo.West: srv.DeviceFile(t, demo.West, "West Probe", role.Probe),
	}
	var wg sync.WaitGroup
	outs := make(map[string]*bytes.Buffer)
	errs := make(map[string]error)
	var mu sync.Mutex
	for side, dev := range devs {
		var stdout, stderr bytes.Buffer
		outs[side] = &stdout
		wg.Go(func() {
			err := run(t.Context(), []string{"probe", "--server", srv.URL(), "--line", demo.Line, "--device", dev,
				"--once", "--json", "--run", "probe-test-1", "--window", "3s"}, &stdout, &stderr)
			mu.Lock()
			errs[side] = err
			mu.Unlock()
			if err != nil {
				t.Logf("%s stderr: %s", side, stderr.String())
			}
		})
	}
	wg.Wait()
	for side, out := range outs {
		if errs[side] != nil {
			t.Errorf("%s: %v", side, errs[side])
		}
		var raw map[string]any
		if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
			t.Fatalf("%s: output %q: %v", side, out.String(), err)
		}
		for _, k := range []string{"ok", "join_ms", "rtt_ms", "jitter_ms", "loss", "bitrate_kbps", "frames_decrypted", "code_match", "key_ms", "target_kbps"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("%s: no %q in %s", side, k, out.String())
			}
		}
		var l probeLine
		if err := json.Unmarshal(out.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", side, strings.TrimSpace(out.String()))
		other := map[string]string{demo.East: demo.West, demo.West: demo.East}[side]
		switch {
		case !l.OK || !l.CodeMatch || l.PeerOK == nil || !*l.PeerOK:
			t.Errorf("%s: not ok: %+v", side, l)
		case l.Side != side || l.PeerSide != other || l.Run != "probe-test-1":
			t.Errorf("%s: side %q peer %q run %q", side, l.Side, l.PeerSide, l.Run)
		case l.JoinMs <= 0 || l.JoinMs > 30_000 || l.KeyMs <= 0 || l.KeyMs > l.JoinMs:
			t.Errorf("%s: join_ms %d key_ms %d", side, l.JoinMs, l.KeyMs)
		case l.RTTMs <= 0 || l.RTTMs > 60_000:
			t.Errorf("%s: rtt_ms %v", side, l.RTTMs)
		case l.JitterMs < 0 || l.JitterMs > 60_000:
			t.Errorf("%s: jitter_ms %v", side, l.JitterMs)
		case l.Loss < 0 || l.Loss > 0.5:
			t.Errorf("%s: loss %v on loopback", side, l.Loss)
		case l.BitrateKbps <= 0 || l.TargetKbps <= 0 || l.BitrateKbps < l.TargetKbps/10 || l.BitrateKbps > l.TargetKbps*10:
			t.Errorf("%s: bitrate %v kbit/s against a target of %v", side, l.BitrateKbps, l.TargetKbps)
		case l.FramesDecrypted == 0:
			t.Errorf("%s: no frame decrypted", side)
		}
	}
	rows, err := srv.Store().ProbeRun(context.Background(), demo.Line, "probe-test-1")
	if err != nil || len(rows) != 2 {
		t.Fatalf("stored results %d, %v; want 2", len(rows), err)
	}
}

func TestProbeFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--line", "demo", "--device", "x"}, "--server is required"},
		{[]string{"--server", "http://127.0.0.1:1", "--device", "x"}, "--line is required"},
		{[]string{"--server", "http://127.0.0.1:1", "--line", "demo"}, "--device is required"},
		{[]string{"--server", "http://127.0.0.1:1", "--line", "demo", "--device", "x", "--every", "5s"}, "at least a minute"},
		{[]string{"--server", "http://127.0.0.1:1", "--line", "demo", "--device", "x", "--run", "demo", "--once"}, "--run needs"},
		{[]string{"--server", "http://127.0.0.1:1", "--line", "demo", "--device", "x", "extra"}, "unexpected argument"},
	} {
		var stderr bytes.Buffer
		err := runProbe(context.Background(), tc.args, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("probe %q = %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}
