package sframe

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/sframe.json from this package's output")

// The vector files live in the repository's testdata/, where the browser
// test serves them to the JavaScript implementation too.
const (
	rfcVectorsPath    = "../../testdata/rfc9605.json"
	sharedVectorsPath = "../../testdata/sframe.json"
)

// hexBytes is a byte string written as hex in JSON.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// hexUint is a number written as in RFC 9605's text, "0x" and hex digits
// (a 64-bit value does not fit a JSON number that JavaScript reads exactly).
type hexUint uint64

func (h *hexUint) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if !strings.HasPrefix(s, "0x") {
		return fmt.Errorf("%q: want 0x...", s)
	}
	v, err := strconv.ParseUint(s[2:], 16, 64)
	*h = hexUint(v)
	return err
}

// rfcVectors is testdata/rfc9605.json: RFC 9605 Appendix C.1 and C.3.
type rfcVectors struct {
	Source string `json:"source"`
	Header []struct {
		KID    hexUint  `json:"kid"`
		CTR    hexUint  `json:"ctr"`
		Header hexBytes `json:"header"`
	} `json:"header"`
	SFrame []struct {
		CipherSuite     hexUint  `json:"cipher_suite"`
		KID             hexUint  `json:"kid"`
		CTR             hexUint  `json:"ctr"`
		BaseKey         hexBytes `json:"base_key"`
		SFrameKeyLabel  hexBytes `json:"sframe_key_label"`
		SFrameSaltLabel hexBytes `json:"sframe_salt_label"`
		SFrameSecret    hexBytes `json:"sframe_secret"`
		SFrameKey       hexBytes `json:"sframe_key"`
		SFrameSalt      hexBytes `json:"sframe_salt"`
		Metadata        hexBytes `json:"metadata"`
		Nonce           hexBytes `json:"nonce"`
		AAD             hexBytes `json:"aad"`
		PT              hexBytes `json:"pt"`
		CT              hexBytes `json:"ct"`
	} `json:"sframe"`
}

func loadRFCVectors(t *testing.T) rfcVectors {
	t.Helper()
	b, err := os.ReadFile(rfcVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v rfcVectors
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", rfcVectorsPath, err)
	}
	return v
}

// TestRFC9605Header: RFC 9605 Appendix C.1, encoding and decoding.
func TestRFC9605Header(t *testing.T) {
	v := loadRFCVectors(t)
	if len(v.Header) != 289 { // 17 values of KID × 17 of CTR
		t.Fatalf("%d header vectors, want 289", len(v.Header))
	}
	for _, c := range v.Header {
		kid, ctr := uint64(c.KID), uint64(c.CTR)
		if got := AppendHeader([]byte{0xee}, kid, ctr); !bytes.Equal(got[1:], c.Header) || got[0] != 0xee {
			t.Errorf("AppendHeader(%#x, %#x) = %x, want %x", kid, ctr, got[1:], c.Header)
		}
		if n := HeaderLen(kid, ctr); n != len(c.Header) {
			t.Errorf("HeaderLen(%#x, %#x) = %d, want %d", kid, ctr, n, len(c.Header))
		}
		// Trailing bytes (the ciphertext) are not part of the header.
		gk, gc, n, err := ParseHeader(append(bytes.Clone(c.Header), 0xff, 0x00))
		if err != nil || gk != kid || gc != ctr || n != len(c.Header) {
			t.Errorf("ParseHeader(%x) = %#x, %#x, %d, %v; want %#x, %#x, %d", c.Header, gk, gc, n, err, kid, ctr, len(c.Header))
		}
		for i := range len(c.Header) - 1 {
			if _, _, _, err := ParseHeader(c.Header[:i]); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseHeader(%x), cut from %x: err %v, want ErrMalformed", c.Header[:i], c.Header, err)
			}
		}
	}
}

// TestRFC9605Encryption: RFC 9605 Appendix C.3, cipher suite 0x0004, every
// value including the intermediate ones.
func TestRFC9605Encryption(t *testing.T) {
	v := loadRFCVectors(t)
	n := 0
	for _, c := range v.SFrame {
		if c.CipherSuite != CipherSuite {
			t.Fatalf("vector for cipher suite %#x; the file should hold only %#x", uint64(c.CipherSuite), CipherSuite)
		}
		n++
		kid, ctr := uint64(c.KID), uint64(c.CTR)
		check := func(what string, got, want []byte) {
			t.Helper()
			if !bytes.Equal(got, want) {
				t.Errorf("%s = %x, want %x", what, got, want)
			}
		}
		check("sframe_key_label", label(keyLabel, kid), c.SFrameKeyLabel)
		check("sframe_salt_label", label(saltLabel, kid), c.SFrameSaltLabel)
		key, salt, secret, err := deriveKeySalt(kid, c.BaseKey)
		if err != nil {
			t.Fatal(err)
		}
		check("sframe_secret", secret, c.SFrameSecret)
		check("sframe_key", key, c.SFrameKey)
		check("sframe_salt", salt, c.SFrameSalt)

		k, err := NewKey(kid, c.BaseKey)
		if err != nil {
			t.Fatal(err)
		}
		check("nonce", k.nonce(&scratch{}, ctr), c.Nonce)
		check("aad", append(AppendHeader(nil, kid, ctr), c.Metadata...), c.AAD)
		check("ct", k.Seal(nil, ctr, c.Metadata, c.PT), c.CT)

		gotCTR, pt, err := k.Open(nil, c.CT, c.Metadata)
		if err != nil || gotCTR != ctr || !bytes.Equal(pt, c.PT) {
			t.Errorf("Open = %#x, %x, %v; want %#x, %x", gotCTR, pt, err, ctr, c.PT)
		}
		// The metadata is authenticated: other metadata fails.
		if _, _, err := k.Open(nil, c.CT, c.Metadata[1:]); !errors.Is(err, ErrAuth) {
			t.Errorf("Open with other metadata: %v, want ErrAuth", err)
		}
	}
	if n == 0 {
		t.Fatal("no SFrame vector for cipher suite 0x0004")
	}
}

// sharedVectors is testdata/sframe.json: this package's output for frames
// of each kind, pinned so that the browser's sframe.js must produce and
// accept exactly the same bytes, and refuse the same forgeries.
type sharedVectors struct {
	Comment      string        `json:"comment"`
	CipherSuite  int           `json:"cipher_suite"`
	ReplayWindow int           `json:"replay_window"`
	Keys         []vecKey      `json:"keys"`      // what the receiver of every sequence holds
	Frames       []vecFrame    `json:"frames"`    // encrypt and decrypt
	Sequences    []vecSequence `json:"sequences"` // decrypt in order on a fresh receiver
}

type vecKey struct {
	KID     uint64   `json:"kid"`
	BaseKey hexBytes `json:"base_key"`
}

// vecFrame: a Sender with (kid, base_key) whose counter starts at ctr
// encrypts frame, of kind, into encrypted; a Receiver with that key
// decrypts it back. clear is ClearBytes(kind, frame).
type vecFrame struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	KID       uint64   `json:"kid"`
	BaseKey   hexBytes `json:"base_key"`
	CTR       uint64   `json:"ctr"`
	Clear     int      `json:"clear"`
	Frame     hexBytes `json:"frame"`
	Encrypted hexBytes `json:"encrypted"`
}

type vecSequence struct {
	Name  string    `json:"name"`
	Steps []vecStep `json:"steps"`
}

// vecStep: decrypting encrypted as kind gives expect: "ok" (then the KID
// and the original frame) or an error kind: "malformed", "auth", "replay",
// "unknown_kid".
type vecStep struct {
	Kind      string   `json:"kind"`
	Encrypted hexBytes `json:"encrypted"`
	Expect    string   `json:"expect"`
	KID       uint64   `json:"kid,omitempty"`
	Frame     hexBytes `json:"frame,omitempty"`
}

func kindOf(s string) Kind {
	switch s {
	case "audio":
		return Audio
	case "video":
		return Video
	}
	return 0
}

// errorKind names an error as the vectors and sframe.js do.
func errorKind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrAuth):
		return "auth"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, ErrUnknownKID):
		return "unknown_kid"
	}
	return "other: " + err.Error()
}

// vecBytes is n deterministic bytes named by seed (a SHA-256 stream), so
// that the vectors do not depend on a random generator's implementation.
func vecBytes(seed string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		s := sha256.Sum256(fmt.Appendf(nil, "hotline sframe vectors %s %d", seed, i))
		out = append(out, s[:]...)
	}
	return out[:n]
}

// Frames that look like what the browser's encoders emit.
func vp8Key(n int, seed string) []byte {
	// Frame tag with bit 0 = 0 (key frame), start code 9d 01 2a, 640×480.
	h := []byte{0x50, 0x2a, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01}
	return append(h[:min(n, len(h))], vecBytes(seed, max(n-len(h), 0))...)
}

func vp8Delta(n int, seed string) []byte {
	h := []byte{0x31, 0x0c, 0x00} // frame tag with bit 0 = 1 (delta frame)
	return append(h[:min(n, len(h))], vecBytes(seed, max(n-len(h), 0))...)
}

func opus(n int, seed string) []byte {
	if n == 0 {
		return []byte{}
	}
	return append([]byte{0x78}, vecBytes(seed, n-1)...) // TOC: CELT FB 20 ms mono
}

// Our KIDs are sender_tag<<16 | epoch (docs/PROTOCOL.md, "Key messages").
const (
	vecKIDSmall    = 5
	vecKIDEight    = 8 // the first KID that needs an extended field
	vecKIDLarge    = 0x9f3a27c1<<16 | 3
	vecKIDOutsider = 0x9f3a27c1<<16 | 4 // a key the receiver never gets
	vecKIDMax      = 1<<53 - 1          // the largest KID a JS number holds exactly
)

func vecBaseKey(kid uint64) []byte { return vecBytes(fmt.Sprint("base key ", kid), BaseKeyLen) }

// sealAt encrypts one frame as a Sender whose counter starts at ctr would.
func sealAt(kid, ctr uint64, kind Kind, frame []byte) ([]byte, error) {
	var s Sender
	if err := s.setKey(kid, vecBaseKey(kid), ctr); err != nil {
		return nil, err
	}
	return s.Encrypt(nil, kind, frame)
}

// buildSharedVectors computes testdata/sframe.json. Every expectation it
// writes is first checked here, so a wrong outcome cannot be written down.
func buildSharedVectors() (*sharedVectors, error) {
	v := &sharedVectors{
		Comment: "SFrame (RFC 9605, cipher suite 0x0004) as hotline applies it to media frames (docs/PROTOCOL.md). " +
			"Generated by `go test ./internal/sframe -run TestSharedVectors -update`; checked byte for byte by that test " +
			"and by test/browser (harness/sframe_vectors.js) against internal/web/static/e2ee/sframe.js.",
		CipherSuite:  CipherSuite,
		ReplayWindow: ReplayWindow,
	}
	for _, kid := range []uint64{vecKIDSmall, vecKIDEight, vecKIDLarge, vecKIDMax} {
		v.Keys = append(v.Keys, vecKey{kid, vecBaseKey(kid)})
	}
	frame := func(name string, kind Kind, kid, ctr uint64, f []byte) error {
		enc, err := sealAt(kid, ctr, kind, f)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		v.Frames = append(v.Frames, vecFrame{Name: name, Kind: kind.String(), KID: kid, BaseKey: vecBaseKey(kid),
			CTR: ctr, Clear: ClearBytes(kind, f), Frame: f, Encrypted: enc})
		return nil
	}
	for _, c := range []struct {
		name     string
		kind     Kind
		kid, ctr uint64
		frame    []byte
	}{
		{"VP8 key frame", Video, vecKIDLarge, 0, vp8Key(200, "key")},
		{"VP8 delta frame", Video, vecKIDLarge, 1, vp8Delta(120, "delta")},
		{"Opus frame", Audio, vecKIDLarge, 2, opus(80, "opus")},
		{"VP8 key frame shorter than its clear prefix (6 bytes, all clear)", Video, vecKIDLarge, 3, vp8Key(6, "")},
		{"VP8 delta frame shorter than its clear prefix (2 bytes, all clear)", Video, vecKIDLarge, 4, vp8Delta(2, "")},
		{"empty Opus frame (nothing clear, nothing encrypted)", Audio, vecKIDLarge, 5, opus(0, "")},
		{"empty plaintext: Opus frame of its TOC byte only", Audio, vecKIDSmall, 7, opus(1, "")},
		{"empty plaintext: VP8 key frame of exactly 10 bytes", Video, vecKIDSmall, 0, vp8Key(10, "")},
		{"empty plaintext: VP8 delta frame of exactly 3 bytes", Video, vecKIDSmall, 1, vp8Delta(3, "")},
		{"KID and CTR in the config byte", Video, vecKIDSmall, 6, vp8Delta(40, "small")},
		{"KID 8 (first extended KID), CTR 8 (first extended CTR)", Audio, vecKIDEight, 8, opus(60, "eight")},
		{"1-byte CTR 255", Audio, vecKIDEight, 255, opus(61, "255")},
		{"2-byte CTR", Video, vecKIDLarge, 0x1234, vp8Delta(300, "ctr2")},
		{"5-byte CTR", Video, vecKIDLarge, 0x0123456789, vp8Key(500, "ctr5")},
		{"KID and CTR 2^53-1, the largest a JS number holds exactly", Audio, vecKIDMax, 1<<53 - 1, opus(100, "max")},
		{"VP8 key frame of 1200 bytes", Video, vecKIDLarge, 0x10000, vp8Key(1200, "big")},
	} {
		if err := frame(c.name, c.kind, c.kid, c.ctr, c.frame); err != nil {
			return nil, err
		}
	}

	// Sequences run on a fresh receiver holding v.Keys.
	var r *Receiver
	var seq *vecSequence
	start := func(name string) error {
		r = new(Receiver)
		for _, k := range v.Keys {
			if err := r.AddKey(k.KID, k.BaseKey); err != nil {
				return err
			}
		}
		v.Sequences = append(v.Sequences, vecSequence{Name: name})
		seq = &v.Sequences[len(v.Sequences)-1]
		return nil
	}
	// step decrypts enc and records the outcome, which must be want
	// (want "" accepts any error).
	step := func(kind Kind, enc []byte, want string) error {
		kid, out, err := r.Decrypt(nil, kind, enc)
		got := errorKind(err)
		if got != want && (want != "" || got == "ok" || strings.HasPrefix(got, "other")) {
			return fmt.Errorf("%s: step %d: got %s (%v), want %s", seq.Name, len(seq.Steps), got, err, want)
		}
		s := vecStep{Kind: kind.String(), Encrypted: enc, Expect: got}
		if err == nil {
			s.KID, s.Frame = kid, out
		}
		seq.Steps = append(seq.Steps, s)
		return nil
	}
	must := func(b []byte, err error) []byte {
		if err != nil {
			panic(err) // only with a broken generator; the test reports it
		}
		return b
	}
	flip := func(b []byte, i int, mask byte) []byte {
		b = bytes.Clone(b)
		if i < 0 {
			i += len(b)
		}
		b[i] ^= mask
		return b
	}
	type stepSpec struct {
		kind Kind
		enc  []byte
		want string
	}
	keyFrame := vp8Key(200, "key")
	delta := vp8Delta(120, "delta")
	at := func(ctr uint64) []byte { return must(sealAt(vecKIDLarge, ctr, Video, delta)) }
	// The 2-byte CTR sits after 3 clear bytes, the config byte and a
	// 6-byte KID.
	ctrByte := 3 + 1 + 6 + 1
	for _, c := range []struct {
		name  string
		steps []stepSpec
	}{
		{"tampered tag", []stepSpec{{Video, flip(at(40), -1, 0x01), "auth"}}},
		{"tampered ciphertext", []stepSpec{{Video, flip(at(41), 60, 0x10), "auth"}}},
		{"tampered clear prefix", []stepSpec{{Video, flip(must(sealAt(vecKIDLarge, 42, Video, keyFrame)), 1, 0x80), "auth"}}},
		{"tampered header (CTR)", []stepSpec{{Video, flip(at(0x1234), ctrByte, 0x01), "auth"}}},
		{"tampered first byte (key frame read as delta)", []stepSpec{{Video, flip(must(sealAt(vecKIDLarge, 43, Video, keyFrame)), 0, 0x01), ""}}},
		{"video frame decrypted as audio", []stepSpec{{Audio, at(44), ""}}},
		{"unknown KID", []stepSpec{{Video, must(sealAt(vecKIDOutsider, 0, Video, delta)), "unknown_kid"}}},
		{"truncated (no room for the tag)", []stepSpec{{Video, at(45)[:3+8+15], "malformed"}}},
		{"empty", []stepSpec{{Audio, []byte{}, "malformed"}}},
		{"header not minimally encoded (KID 5 in an extended field)", []stepSpec{{Audio,
			append([]byte{0x78, 0x80, 0x05}, vecBytes("nonminimal", 40)...), "malformed"}}},
		{"replayed CTR", []stepSpec{{Video, at(46), "ok"}, {Video, at(46), "replay"}}},
		{"CTR older than the window", []stepSpec{{Video, at(3000), "ok"}, {Video, at(3000 - ReplayWindow), "replay"}}},
		{"replay window edges", []stepSpec{
			{Video, at(3000), "ok"},
			{Video, at(3000 - ReplayWindow + 1), "ok"}, // the oldest CTR the window holds
			{Video, at(3000 - ReplayWindow), "replay"}, // one older
			{Video, at(3000 - ReplayWindow + 1), "replay"},
			{Video, at(2999), "ok"},                      // out of order, inside the window
			{Video, at(3001), "ok"},                      // the window moves up by one ...
			{Video, at(3001 - ReplayWindow), "replay"},   // ... and its lowest CTR falls out of it
			{Video, at(3001 - ReplayWindow + 1), "ok"},   // the next is still inside
			{Video, at(3000 + 2*ReplayWindow), "ok"},     // a jump past a whole window
			{Video, at(3001), "replay"},                  // now too old
			{Video, at(3000 + 2*ReplayWindow - 1), "ok"}, // just below the new highest
		}},
		{"forged frame does not move the window", []stepSpec{
			{Video, flip(at(5000), -1, 0x01), "auth"}, // CTR 5000 claimed, not authentic
			{Video, at(10), "ok"},                     // still inside: the window did not move to 5000
			{Video, at(5000), "ok"},
			{Video, at(10), "replay"},
		}},
		{"each KID has its own window", []stepSpec{
			{Video, must(sealAt(vecKIDSmall, 7, Video, delta)), "ok"},
			{Video, at(7), "ok"},
			{Video, must(sealAt(vecKIDSmall, 7, Video, delta)), "replay"},
		}},
	} {
		if err := start(c.name); err != nil {
			return nil, err
		}
		for _, s := range c.steps {
			if err := step(s.kind, s.enc, s.want); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

func marshalVectors(v *sharedVectors) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// TestSharedVectors: with -update it writes testdata/sframe.json; without,
// this package must produce that file exactly, and the file's cases must
// hold when replayed from the file itself.
func TestSharedVectors(t *testing.T) {
	v, err := buildSharedVectors()
	if err != nil {
		t.Fatal(err)
	}
	b, err := marshalVectors(v)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(sharedVectorsPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d frames, %d sequences)", sharedVectorsPath, len(v.Frames), len(v.Sequences))
	}
	file, err := os.ReadFile(sharedVectorsPath)
	if err != nil {
		t.Fatalf("%v (run: go test ./internal/sframe -run TestSharedVectors -update)", err)
	}
	if !bytes.Equal(file, b) {
		t.Fatalf("%s differs from this package's output; if the change is intended, rerun with -update", sharedVectorsPath)
	}

	var f sharedVectors
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	checkSharedVectors(t, &f)
}

// checkSharedVectors replays the file's cases through Sender and Receiver.
func checkSharedVectors(t *testing.T, f *sharedVectors) {
	t.Helper()
	if f.CipherSuite != CipherSuite || f.ReplayWindow != ReplayWindow || len(f.Frames) == 0 || len(f.Sequences) == 0 {
		t.Fatalf("vector file header: suite %d, window %d, %d frames, %d sequences", f.CipherSuite, f.ReplayWindow, len(f.Frames), len(f.Sequences))
	}
	kinds := map[string]bool{}
	for _, c := range f.Frames {
		kind := kindOf(c.Kind)
		if kind == 0 {
			t.Fatalf("%s: kind %q", c.Name, c.Kind)
		}
		if n := ClearBytes(kind, c.Frame); n != c.Clear {
			t.Errorf("%s: ClearBytes = %d, want %d", c.Name, n, c.Clear)
		}
		var s Sender
		if err := s.setKey(c.KID, c.BaseKey, c.CTR); err != nil {
			t.Fatal(err)
		}
		enc, err := s.Encrypt(make([]byte, 0, len(c.Frame)+Overhead), kind, c.Frame)
		if err != nil || !bytes.Equal(enc, c.Encrypted) {
			t.Errorf("%s: Encrypt = %x, %v; want %x", c.Name, enc, err, c.Encrypted)
		}
		if want := c.Clear + HeaderLen(c.KID, c.CTR) + len(c.Frame) - c.Clear + TagLen; len(c.Encrypted) != want {
			t.Errorf("%s: %d encrypted bytes, want %d", c.Name, len(c.Encrypted), want)
		}
		var r Receiver
		if err := r.AddKey(c.KID, c.BaseKey); err != nil {
			t.Fatal(err)
		}
		kid, out, err := r.Decrypt(nil, kind, c.Encrypted)
		if err != nil || kid != c.KID || !bytes.Equal(out, c.Frame) {
			t.Errorf("%s: Decrypt = %d, %x, %v; want %d, %x", c.Name, kid, out, err, c.KID, c.Frame)
		}
	}
	for _, sq := range f.Sequences {
		var r Receiver
		for _, k := range f.Keys {
			if err := r.AddKey(k.KID, k.BaseKey); err != nil {
				t.Fatal(err)
			}
		}
		for i, st := range sq.Steps {
			kids, out, err := r.Decrypt(nil, kindOf(st.Kind), st.Encrypted)
			kinds[errorKind(err)] = true
			if got := errorKind(err); got != st.Expect {
				t.Errorf("%s: step %d: %s (%v), want %s", sq.Name, i, got, err, st.Expect)
				continue
			}
			if err == nil && (kids != st.KID || !bytes.Equal(out, st.Frame)) {
				t.Errorf("%s: step %d: KID %d, frame %x; want %d, %x", sq.Name, i, kids, out, st.KID, st.Frame)
			}
		}
	}
	for _, k := range []string{"ok", "malformed", "auth", "replay", "unknown_kid"} {
		if !kinds[k] {
			t.Errorf("no sequence step expects %q", k)
		}
	}
}
