package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"testing"

	"hotline/internal/audit"
	"hotline/internal/e2ee"
	"hotline/internal/trust"
)

// witnessVector is one case of testdata/witness.json: a witness statement's
// inputs, and the body bytes, roster fingerprint and signature they give.
// The browser's e2ee/witness.js is checked against the same file
// (TestWitnessVectorsJS, test/browser).
type witnessVector struct {
	Label       string   `json:"label"`
	SigSeed     string   `json:"sig_seed"`
	Line        string   `json:"line"`
	Call        string   `json:"call"`
	Participant string   `json:"participant"`
	KID         uint64   `json:"kid"`
	BaseKey     string   `json:"base_key"`
	SigKeys     []string `json:"sig_keys"` // the verified members' (any order), its own included
	Code        string   `json:"code"`
	Segment     string   `json:"segment"`
	At          int64    `json:"at"`
	Roster      string   `json:"roster"`
	Body        string   `json:"body"`
	Sig         string   `json:"sig"`
}

func (v *witnessVector) compute(t *testing.T) (roster, body, sig []byte) {
	t.Helper()
	dec := func(s string) []byte {
		b, err := trust.DecodeB64(s)
		if err != nil {
			t.Fatalf("%s: %v", v.Label, err)
		}
		return b
	}
	var keys [][]byte
	for _, k := range v.SigKeys {
		keys = append(keys, dec(k))
	}
	roster = audit.RosterFingerprint(keys)
	w := audit.WitnessBody{V: audit.Version, Line: v.Line, Call: v.Call, Participant: v.Participant, KID: v.KID,
		Commitment: trust.B64(e2ee.KeyCommitment(v.KID, dec(v.BaseKey))), Roster: trust.B64(roster), Code: v.Code, Segment: v.Segment, At: v.At}
	body, err := trust.Canonical(&w)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(dec(v.SigSeed))
	sig = ed25519.Sign(priv, append([]byte(audit.LabelWitness), body...))
	return roster, body, sig
}

// TestWitnessVectors: testdata/witness.json is what Go computes; with
// HOTLINE_WRITE_VECTORS=1 it is written afresh from the inputs.
func TestWitnessVectors(t *testing.T) {
	const path = "../../testdata/witness.json"
	file, write := loadVectors[witnessVector](t, path)
	for i := range file.Vectors {
		v := &file.Vectors[i]
		roster, body, sig := v.compute(t)
		if write {
			v.Roster, v.Body, v.Sig = trust.B64(roster), trust.B64(body), trust.B64(sig)
			continue
		}
		if v.Roster != trust.B64(roster) || v.Body != trust.B64(body) || v.Sig != trust.B64(sig) {
			t.Errorf("%s: roster %s body %s sig %s differ from the file", v.Label, trust.B64(roster), body, trust.B64(sig))
		}
		// The body is one a verifier accepts.
		var w audit.WitnessBody
		if err := trust.DecodeCanonical(body, &w); err != nil || !bytes.Equal(mustCanon(t, &w), body) {
			t.Errorf("%s: body does not decode canonically: %v", v.Label, err)
		}
	}
	if write {
		file.save(t, path)
	}
}

// vectorFile is a shared vector file of testdata (witness.json,
// readout.json): a comment and the vectors, which Go and the browser check.
type vectorFile[V any] struct {
	Comment string `json:"comment"`
	Vectors []V    `json:"vectors"`
}

// loadVectors reads the vector file at path (at least two vectors); write
// says whether the test is to compute them afresh (HOTLINE_WRITE_VECTORS=1)
// and save, instead of checking them.
func loadVectors[V any](t *testing.T, path string) (f *vectorFile[V], write bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f = new(vectorFile[V])
	if err := json.Unmarshal(data, f); err != nil || len(f.Vectors) < 2 {
		t.Fatalf("%s: %v (%d vectors)", path, err, len(f.Vectors))
	}
	return f, os.Getenv("HOTLINE_WRITE_VECTORS") == "1"
}

func (f *vectorFile[V]) save(t *testing.T, path string) {
	t.Helper()
	out, _ := json.MarshalIndent(f, "", "  ")
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustCanon(t *testing.T, v any) []byte {
	t.Helper()
	b, err := trust.Canonical(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
