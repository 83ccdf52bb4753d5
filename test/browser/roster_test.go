package browser

import (
	"encoding/json"
	"os"
	"testing"
)

// TestRosterVectorsJS: the browser's roster rule (static/e2ee/roster.js)
// gives every verdict of testdata/roster.json, which internal/e2ee's
// CheckRoster gives too (TestRosterVectors): a repeated participant id,
// device key or sender tag is a forgery on both sides.
func TestRosterVectorsJS(t *testing.T) {
	data, err := os.ReadFile("../../testdata/roster.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Rosters []json.RawMessage `json:"rosters"`
	}
	if err := json.Unmarshal(data, &v); err != nil || len(v.Rosters) == 0 {
		t.Fatalf("roster.json: %d rosters, %v", len(v.Rosters), err)
	}
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/roster_vectors.js", nil)
	if r.Checked != len(v.Rosters) {
		t.Errorf("JS checked %d rosters, the file holds %d", r.Checked, len(v.Rosters))
	}
	b.checkConsole()
}
