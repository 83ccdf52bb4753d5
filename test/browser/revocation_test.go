package browser

import (
	"encoding/json"
	"os"
	"testing"
)

// TestRevocationVectorsJS (PROTOCOL.md, "Revocation"): the browser's
// e2ee/revocation.js gives every verdict of testdata/revocation.json, the
// same as internal/trust's VerifyRevocation (TestRevocationVectors), and
// applies the same serial rule to the sequence of lists: a list never goes
// back.
func TestRevocationVectorsJS(t *testing.T) {
	data, err := os.ReadFile("../../testdata/revocation.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases    []json.RawMessage `json:"cases"`
		Sequence []json.RawMessage `json:"sequence"`
	}
	if err := json.Unmarshal(data, &v); err != nil || len(v.Cases) == 0 || len(v.Sequence) == 0 {
		t.Fatalf("revocation.json: %d cases, %d offers, %v", len(v.Cases), len(v.Sequence), err)
	}
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/revocation_vectors.js", nil)
	if r.Checked != len(v.Cases)+len(v.Sequence) {
		t.Errorf("JS checked %d, the file holds %d", r.Checked, len(v.Cases)+len(v.Sequence))
	}
	var held struct {
		East, West int
		Revoked    []string
	}
	if err := json.Unmarshal(r.Data, &held); err != nil {
		t.Fatal(err)
	}
	if held.East != 3 || held.West != 1 || len(held.Revoked) != 1 {
		t.Errorf("after the sequence the browser holds %+v, want east 3, west 1, one device", held)
	}
	b.checkConsole()
}
