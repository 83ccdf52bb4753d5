package browser

import (
	"encoding/json"
	"os"
	"testing"
)

// TestRoutingVectorsJS: the browser's routing rule (static/route.js, which
// decides where its keys go) agrees with Go's (internal/route, which decides
// what the server forwards) on every case of testdata/routing.json.
func TestRoutingVectorsJS(t *testing.T) {
	data, err := os.ReadFile("../../testdata/routing.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []json.RawMessage `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil || len(file.Cases) == 0 {
		t.Fatalf("testdata/routing.json: %v (%d cases)", err, len(file.Cases))
	}
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/route_vectors.js", nil)
	if r.Checked != len(file.Cases) {
		t.Errorf("JS checked %d cases, want %d", r.Checked, len(file.Cases))
	}
	b.checkConsole()
}
