package browser

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"hotline/internal/sframe"
)

// TestSFrameVectors: the browser's SFrame (internal/web/static/e2ee/sframe.js,
// as embedded) reproduces RFC 9605's vectors and Go's shared vectors byte
// for byte, refuses every forgery with the same error kind as Go, works in a
// module Worker, and its output for random frames opens with Go's Receiver.
func TestSFrameVectors(t *testing.T) {
	want := countSFrameVectors(t)
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/sframe_vectors.js", map[string]any{})
	// One per vector: a module that skipped or failed to load some
	// vectors, or checked nothing, fails here.
	if r.Checked != want {
		t.Errorf("JS checked %d vectors, the files hold %d", r.Checked, want)
	}
	var data struct {
		InWorker bool `json:"inWorker"`
		Worker   struct {
			InWorker bool   `json:"inWorker"`
			Matches  bool   `json:"matches"`
			Error    string `json:"error"`
		} `json:"worker"`
		Interop []struct {
			Kind      string `json:"kind"`
			KID       uint64 `json:"kid"`
			BaseKey   string `json:"base_key"`
			Frame     string `json:"frame"`
			Encrypted string `json:"encrypted"`
		} `json:"interop"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
	if data.InWorker || !data.Worker.InWorker || !data.Worker.Matches || data.Worker.Error != "" {
		t.Errorf("worker round trip: page inWorker=%v, worker %+v", data.InWorker, data.Worker)
	}
	if len(data.Interop) != 8 {
		t.Errorf("%d interop frames, want 8", len(data.Interop))
	}
	for i, f := range data.Interop {
		kind := sframe.Video
		if f.Kind == "audio" {
			kind = sframe.Audio
		}
		var rx sframe.Receiver
		if err := rx.AddKey(f.KID, sframeUnhex(t, f.BaseKey)); err != nil {
			t.Fatal(err)
		}
		kid, out, err := rx.Decrypt(nil, kind, sframeUnhex(t, f.Encrypted))
		if err != nil || kid != f.KID || !bytes.Equal(out, sframeUnhex(t, f.Frame)) {
			t.Errorf("interop frame %d (%s, %d bytes): Go decrypt = %d, %d bytes, %v", i, f.Kind, len(f.Frame)/2, kid, len(out), err)
		}
	}
	b.checkConsole()
}

// countSFrameVectors counts the vectors of testdata/rfc9605.json and
// testdata/sframe.json as the harness does: each header and SFrame case of
// the RFC, each frame and each sequence of the shared file.
func countSFrameVectors(t *testing.T) int {
	t.Helper()
	var rfc struct {
		Header []json.RawMessage `json:"header"`
		SFrame []json.RawMessage `json:"sframe"`
	}
	var shared struct {
		Frames    []json.RawMessage `json:"frames"`
		Sequences []json.RawMessage `json:"sequences"`
	}
	for path, v := range map[string]any{"../../testdata/rfc9605.json": &rfc, "../../testdata/sframe.json": &shared} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	n := len(rfc.Header) + len(rfc.SFrame) + len(shared.Frames) + len(shared.Sequences)
	if len(rfc.Header) == 0 || len(rfc.SFrame) == 0 || len(shared.Frames) == 0 || len(shared.Sequences) == 0 {
		t.Fatalf("a vector file is empty: %d RFC headers, %d RFC SFrame, %d frames, %d sequences",
			len(rfc.Header), len(rfc.SFrame), len(shared.Frames), len(shared.Sequences))
	}
	return n
}

func sframeUnhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSFrameKeysNotExtractable (THREAT_MODEL.md, "Local client mode" and
// "Server-served pages"): the browser's SFrame keys are derived straight
// into non-extractable AES-GCM CryptoKeys, in the page and in a module
// Worker, so even a script injected into either cannot export them in any
// format; the same keys still encrypt a shared vector byte for byte.
func TestSFrameKeysNotExtractable(t *testing.T) {
	b, _ := jsHarness(t)
	if r := runJSModule(t, b, "/harness/sframe_keys.js", map[string]any{}); r.Checked != 2 {
		t.Errorf("checked %d places, want 2 (page and worker)", r.Checked)
	}
}
