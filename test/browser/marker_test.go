package browser

import (
	"encoding/json"
	"os"
	"testing"
)

// TestMarkerVectorsJS: the browser's segment markers (static/e2ee/marker.js,
// which decides whether its keys go to the press) agree with Go's
// (internal/marker) on every case of testdata/marker.json, and sign the
// same bytes.
func TestMarkerVectorsJS(t *testing.T) {
	data, err := os.ReadFile("../../testdata/marker.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []json.RawMessage `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil || len(file.Cases) == 0 {
		t.Fatalf("testdata/marker.json: %v (%d cases)", err, len(file.Cases))
	}
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/marker_vectors.js", nil)
	if r.Checked != len(file.Cases) {
		t.Errorf("JS checked %d cases, want %d", r.Checked, len(file.Cases))
	}
	b.checkConsole()
}
