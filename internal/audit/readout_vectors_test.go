package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"hotline/internal/audit"
	"hotline/internal/trust"
)

// readoutVector is one case of testdata/readout.json: a readout's fields,
// and the body bytes, signature and id they give. The browser's
// e2ee/readout.js is checked against the same file (TestReadoutVectorsJS,
// test/browser).
type readoutVector struct {
	Label     string `json:"label"`
	SigSeed   string `json:"sig_seed"`
	Line      string `json:"line"`
	Call      string `json:"call"`
	Side      string `json:"side"`
	Text      string `json:"text"`
	Corrects  string `json:"corrects"`
	Published int64  `json:"published"`
	Body      string `json:"body"`
	Sig       string `json:"sig"`
	ID        string `json:"id"`
}

// TestReadoutVectors: testdata/readout.json is what Go computes (the body
// `hotline readout publish` signs, its signature and id); with
// HOTLINE_WRITE_VECTORS=1 it is written afresh from the inputs.
func TestReadoutVectors(t *testing.T) {
	const path = "../../testdata/readout.json"
	file, write := loadVectors[readoutVector](t, path)
	for i := range file.Vectors {
		v := &file.Vectors[i]
		seed, err := trust.DecodeB64(v.SigSeed)
		if err != nil {
			t.Fatalf("%s: %v", v.Label, err)
		}
		r := audit.ReadoutBody{V: audit.Version, Line: v.Line, Call: v.Call, Side: v.Side, Text: v.Text, Corrects: v.Corrects, Published: v.Published}
		body := mustCanon(t, &r)
		sig := ed25519.Sign(ed25519.NewKeyFromSeed(seed), append([]byte(audit.LabelReadout), body...))
		s := audit.Signed{Body: trust.B64(body), Sig: trust.B64(sig)}
		id, err := audit.ReadoutID(s)
		if err != nil {
			t.Fatal(err)
		}
		if write {
			v.Body, v.Sig, v.ID = s.Body, s.Sig, id
			continue
		}
		if v.Body != s.Body || v.Sig != s.Sig || v.ID != id {
			t.Errorf("%s: body %s sig %s id %s differ from the file", v.Label, body, s.Sig, id)
		}
		// The body is one a verifier accepts.
		got, err := audit.PeekReadout(s)
		if err != nil || !bytes.Equal(mustCanon(t, &got), body) {
			t.Errorf("%s: body does not decode canonically: %v", v.Label, err)
		}
	}
	if write {
		file.save(t, path)
	}
}
