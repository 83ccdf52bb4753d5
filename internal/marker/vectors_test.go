package marker_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// vectors is testdata/marker.json: markers signed by fixed keys and the
// verdict each client must reach (Go here, static/e2ee/marker.js in
// test/browser), and the signed bytes of the first.
type vectors struct {
	Description string       `json:"description"`
	Pins        []pinJSON    `json:"pins"`
	Now         int64        `json:"now"` // Unix seconds
	Line        string       `json:"line"`
	Call        string       `json:"call"`
	MessageHex  string       `json:"message_hex"` // segmentMessage of cases[0].marker
	Cases       []vectorCase `json:"cases"`
}

type pinJSON struct {
	Side string `json:"side"`
	Key  string `json:"key"`
}

type vectorCase struct {
	Name    string           `json:"name"`
	Segment string           `json:"segment"` // the roster's
	Marker  *protocol.Marker `json:"marker"`
	PrevSeq uint32           `json:"prev_seq"`
	Want    string           `json:"want"`    // the segment the client acts on
	Refused bool             `json:"refused"` // the roster's claim is refused
}

const vectorsPath = "../../testdata/marker.json"

func makeVectors(t *testing.T) vectors {
	auth := authority(t)
	principal := device(t, auth, 1, role.Principal)
	press := device(t, auth, 3, role.Press)
	sign := func(d *trust.Device, call, seg string, seq uint32) *protocol.Marker {
		m := marker.Sign(d, "demo", call, seg, seq, t0)
		return &m
	}
	forged := sign(principal, "c1", protocol.SegmentPrivate, 1)
	forged.Segment = protocol.SegmentPublic
	open := sign(principal, "c1", protocol.SegmentPublic, 1)
	return vectors{
		Description: "Segment markers (docs/PROTOCOL.md, \"Segments\"): the segment a client acts on given the roster's segment, its marker and the last marker seq the client accepted. internal/marker (Go) and static/e2ee/marker.js (browser) check every case. message_hex is the signed bytes of the first case's marker.",
		Pins:        []pinJSON{{Side: auth.Side, Key: trust.B64(auth.Public)}},
		Now:         t0.Unix(), Line: "demo", Call: "c1",
		Cases: []vectorCase{
			{"opened by a principal", "public", open, 0, "public", false},
			{"private without a marker", "private", nil, 0, "private", false},
			{"public without a marker", "public", nil, 0, "private", true},
			{"public by the press itself", "public", sign(press, "c1", "public", 1), 0, "private", true},
			{"forged segment", "public", forged, 0, "private", true},
			{"another call's", "public", sign(principal, "c2", "public", 1), 0, "private", true},
			{"the opening replayed after the cut", "public", open, 2, "private", true},
			{"go private", "private", sign(principal, "c1", "private", 2), 1, "private", false},
			{"roster and marker disagree", "private", sign(principal, "c1", "public", 3), 2, "private", true},
		},
	}
}

// TestMarkerVectors checks testdata/marker.json (HOTLINE_UPDATE_VECTORS=1
// writes it anew from the fixed keys).
func TestMarkerVectors(t *testing.T) {
	v := makeVectors(t)
	m := v.Cases[0].Marker
	msg := append([]byte("hotline-segment-v1\x00"), 0, 4, 'd', 'e', 'm', 'o', 0, 2, 'c', '1', 0, 6, 'p', 'u', 'b', 'l', 'i', 'c', 0, 0, 0, 1)
	at := uint64(m.At)
	for i := 7; i >= 0; i-- {
		msg = append(msg, byte(at>>(8*i)))
	}
	v.MessageHex = hex.EncodeToString(msg)
	if os.Getenv("HOTLINE_UPDATE_VECTORS") == "1" {
		data, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(vectorsPath, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var file vectors
	if err := json.Unmarshal(data, &file); err != nil || len(file.Cases) != len(v.Cases) {
		t.Fatalf("%s: %v, %d cases", vectorsPath, err, len(file.Cases))
	}
	// The signed bytes are the spec's: the file's first marker verifies
	// over message_hex with the signer's key.
	sig, _ := trust.DecodeB64(file.Cases[0].Marker.Sig)
	who, err := marker.Verify(*file.Cases[0].Marker, file.Line, file.Call, pinsOf(t, file.Pins), time.Unix(file.Now, 0))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := hex.DecodeString(file.MessageHex); !ed25519Verify(who.SigKey, b, sig) {
		t.Error("message_hex is not what the first marker signs")
	}
	for _, c := range file.Cases {
		prev := marker.State{Segment: protocol.SegmentPrivate, Seq: c.PrevSeq}
		r := protocol.Roster{Segment: c.Segment, Marker: c.Marker}
		st, err := marker.Check(r, file.Line, file.Call, pinsOf(t, file.Pins), time.Unix(file.Now, 0), prev)
		if st.Segment != c.Want || (err != nil) != c.Refused {
			t.Errorf("%s: %q, %v; want %q, refused %v", c.Name, st.Segment, err, c.Want, c.Refused)
		}
	}
}

func pinsOf(t *testing.T, ps []pinJSON) []trust.Pin {
	var out []trust.Pin
	for _, p := range ps {
		k, err := trust.DecodeB64(p.Key)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, trust.Pin{Side: p.Side, Key: k})
	}
	return out
}

func ed25519Verify(pub, msg, sig []byte) bool { return ed25519.Verify(pub, msg, sig) }
