package trust

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"testing"
	"time"
)

var updateRevocation = flag.Bool("update-revocation", false, "rewrite testdata/revocation.json")

const revocationVectorsPath = "../../testdata/revocation.json"

// revocationVectors is testdata/revocation.json: lists with the verdict
// both verifiers must give (Go here, the browser's static/e2ee/revocation.js
// in test/browser), and a sequence of lists offered in turn to one holder
// with whether each is added (the serial only goes up).
type revocationVectors struct {
	Note     string            `json:"note"`
	Line     string            `json:"line"`
	Pins     []tvRevPin        `json:"pins"`
	Cases    []revocationCase  `json:"cases"`
	Sequence []revocationOffer `json:"sequence"`
}

type tvRevPin struct {
	Side string `json:"side"`
	Key  string `json:"key"`
}

type revocationCase struct {
	Name       string     `json:"name"`
	Revocation Revocation `json:"revocation"`
	// Want is "ok" or the reason: malformed, unknown_authority,
	// side_mismatch, line_mismatch, bad_signature.
	Want    string   `json:"want"`
	Side    string   `json:"side,omitempty"`
	Serial  int64    `json:"serial,omitempty"`
	Devices []string `json:"devices,omitempty"`
}

type revocationOffer struct {
	Revocation Revocation `json:"revocation"`
	// Want is "added", "repeat" or "old_serial".
	Want string `json:"want"`
}

func reasonOf(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{{ErrMalformed, "malformed"}, {ErrUnknownAuthority, "unknown_authority"}, {ErrSideMismatch, "side_mismatch"},
		{ErrLineMismatch, "line_mismatch"}, {ErrBadSignature, "bad_signature"}, {ErrOldSerial, "old_serial"}} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func makeRevocationVectors(t *testing.T) revocationVectors {
	east, west, stranger := mustAuthority(t, "east", 1), mustAuthority(t, "west", 2), mustAuthority(t, "east", 3)
	lost, stolen := mustDevice(t, 10).ID(), mustDevice(t, 20).ID()
	must := func(r Revocation, err error) Revocation {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	line := "east-west"
	ok := must(east.Revoke(line, 2, t0, []string{stolen, lost}))
	signed := func(body string) Revocation { // a body signed as east would, whatever it says
		return Revocation{Body: B64([]byte(body)), Sig: B64(signWith(east, labelRevocation, []byte(body)))}
	}
	tampered := ok
	tampered.Sig = B64(signWith(west, labelRevocation, mustDecode(t, ok.Body)))
	eastKey := B64(east.Public)
	v := revocationVectors{
		Note: "Revocation lists (docs/PROTOCOL.md, \"Revocation\"): each case with the verdict of VerifyRevocation for `line` and `pins`; " +
			"`sequence` offers lists in turn to one holder (added, repeat or old_serial). Made by go test ./internal/trust/ -run TestRevocationVectors -update-revocation.",
		Line: line,
		Pins: []tvRevPin{{"east", eastKey}, {"west", B64(west.Public)}},
		Cases: []revocationCase{
			{Name: "two devices", Revocation: ok, Want: "ok", Side: "east", Serial: 2, Devices: []string{lost, stolen}},
			{Name: "empty list (a revocation withdrawn)", Revocation: must(west.Revoke(line, 1, t0, nil)), Want: "ok", Side: "west", Serial: 1, Devices: []string{}},
			{Name: "unknown authority", Revocation: must(stranger.Revoke(line, 1, t0, []string{lost})), Want: "unknown_authority"},
			{Name: "another line", Revocation: must(east.Revoke("other", 3, t0, []string{lost})), Want: "line_mismatch"},
			{Name: "signed by the other side's key", Revocation: tampered, Want: "bad_signature"},
			{Name: "side mismatch", Revocation: signed(`{"v":1,"authority":"` + eastKey + `","side":"west","line":"east-west","serial":1,"issued":1795000000,"devices":[]}`), Want: "side_mismatch"},
			{Name: "unsorted devices", Revocation: signed(`{"v":1,"authority":"` + eastKey + `","side":"east","line":"east-west","serial":1,"issued":1795000000,"devices":["` + stolen + `","` + lost + `"]}`), Want: "malformed"},
			{Name: "repeated device", Revocation: signed(`{"v":1,"authority":"` + eastKey + `","side":"east","line":"east-west","serial":1,"issued":1795000000,"devices":["` + lost + `","` + lost + `"]}`), Want: "malformed"},
			{Name: "upper-case device id", Revocation: signed(`{"v":1,"authority":"` + eastKey + `","side":"east","line":"east-west","serial":1,"issued":1795000000,"devices":["ABCDEF0123456789"]}`), Want: "malformed"},
			{Name: "serial 0", Revocation: signed(`{"v":1,"authority":"` + eastKey + `","side":"east","line":"east-west","serial":0,"issued":1795000000,"devices":[]}`), Want: "malformed"},
			{Name: "not canonical (space)", Revocation: signed(`{"v":1, "authority":"` + eastKey + `","side":"east","line":"east-west","serial":1,"issued":1795000000,"devices":[]}`), Want: "malformed"},
			{Name: "fields out of order", Revocation: signed(`{"v":1,"authority":"` + eastKey + `","line":"east-west","side":"east","serial":1,"issued":1795000000,"devices":[]}`), Want: "malformed"},
			{Name: "devices missing", Revocation: signed(`{"v":1,"authority":"` + eastKey + `","side":"east","line":"east-west","serial":1,"issued":1795000000,"devices":null}`), Want: "malformed"},
			{Name: "version 2", Revocation: signed(`{"v":2,"authority":"` + eastKey + `","side":"east","line":"east-west","serial":1,"issued":1795000000,"devices":[]}`), Want: "malformed"},
		},
		Sequence: []revocationOffer{
			{Revocation: must(east.Revoke(line, 1, t0, []string{lost})), Want: "added"},
			{Revocation: ok, Want: "added"},
			{Revocation: ok, Want: "repeat"},
			{Revocation: must(east.Revoke(line, 1, t0.Add(time.Hour), nil)), Want: "old_serial"},
			{Revocation: must(east.Revoke(line, 2, t0.Add(time.Hour), []string{lost})), Want: "old_serial"},
			{Revocation: must(west.Revoke(line, 1, t0, []string{stolen})), Want: "added"},
			{Revocation: must(east.Revoke(line, 3, t0.Add(time.Hour), []string{})), Want: "added"},
		},
	}
	return v
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := DecodeB64(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRevocationVectors checks testdata/revocation.json against the Go
// verifier (and rewrites it with -update-revocation): every case's verdict
// and contents, and the sequence's serial rule.
func TestRevocationVectors(t *testing.T) {
	made, _ := json.MarshalIndent(makeRevocationVectors(t), "", "  ")
	made = append(made, '\n')
	if *updateRevocation {
		if err := os.WriteFile(revocationVectorsPath, made, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(revocationVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v revocationVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if string(data) != string(made) {
		t.Fatal("testdata/revocation.json differs from what the test makes (rerun with -update-revocation)")
	}
	var pins []Pin
	for _, p := range v.Pins {
		pins = append(pins, Pin{Side: p.Side, Key: mustDecode(t, p.Key)})
	}
	for _, c := range v.Cases {
		l, err := VerifyRevocation(c.Revocation, pins, v.Line)
		if got := reasonOf(err); got != c.Want {
			t.Errorf("%s: %s (%v), want %s", c.Name, got, err, c.Want)
			continue
		}
		if err == nil && (l.Side != c.Side || l.Serial != c.Serial || len(l.Devices) != len(c.Devices) || len(c.Devices) > 0 && !reflect.DeepEqual(l.Devices, c.Devices)) {
			t.Errorf("%s: read %+v", c.Name, l)
		}
	}
	var rs Revocations
	for i, o := range v.Sequence {
		added, err := rs.Add(o.Revocation, pins, v.Line)
		got := reasonOf(err)
		if err == nil {
			got = map[bool]string{true: "added", false: "repeat"}[added]
		}
		if got != o.Want {
			t.Errorf("offer %d: %s, want %s", i, got, o.Want)
		}
	}
	lost, stolen := mustDevice(t, 10).ID(), mustDevice(t, 20).ID()
	if rs.Revoked(lost) || !rs.Revoked(stolen) || rs.Serial("east") != 3 || rs.Serial("west") != 1 {
		t.Errorf("after the sequence: lost %v stolen %v serials %d %d", rs.Revoked(lost), rs.Revoked(stolen), rs.Serial("east"), rs.Serial("west"))
	}
}

// TestRevokeRefuses: an authority signs no list that would not verify.
func TestRevokeRefuses(t *testing.T) {
	east := mustAuthority(t, "east", 1)
	many := make([]string, MaxRevoked+1)
	for i := range many {
		many[i] = mustDevice(t, 10).ID()[:12] + string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16%16]) + string("0123456789abcdef"[i/256]) + "0"
	}
	for name, f := range map[string]func() error{
		"serial 0":         func() error { _, err := east.Revoke("l", 0, t0, nil); return err },
		"bad line":         func() error { _, err := east.Revoke("a/b", 1, t0, nil); return err },
		"bad device id":    func() error { _, err := east.Revoke("l", 1, t0, []string{"zz"}); return err },
		"too many devices": func() error { _, err := east.Revoke("l", 1, t0, many); return err },
	} {
		if err := f(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// signWith signs msg under label with a's key, whatever msg says.
func signWith(a *Authority, label string, msg []byte) []byte {
	return ed25519.Sign(a.private, append([]byte(label), msg...))
}

// FuzzRevocation: the list parser never panics; whatever it accepts is
// canonical, within bounds, and survives the sequence rule.
func FuzzRevocation(f *testing.F) {
	east := mustAuthority(f, "east", 1)
	pins := []Pin{east.Pin()}
	r, err := east.Revoke("east-west", 2, t0, []string{mustDevice(f, 10).ID()})
	if err != nil {
		f.Fatal(err)
	}
	env, _ := json.Marshal(r)
	f.Add(env)
	f.Add([]byte(`{"body":"e30","sig":"AA"}`))
	body, _ := DecodeB64(r.Body)
	f.Add(body)
	f.Fuzz(func(t *testing.T, data []byte) {
		// As an envelope.
		if r, err := ParseRevocation(data); err == nil {
			l, err := VerifyRevocation(r, pins, "east-west")
			if err == nil && (l.Serial < 1 || len(l.Devices) > MaxRevoked) {
				t.Fatalf("accepted %+v", l)
			}
		}
		// As a body, signed: only a canonical, valid body verifies.
		sig := signWith(east, labelRevocation, data)
		l, err := VerifyRevocation(Revocation{Body: B64(data), Sig: B64(sig)}, pins, "east-west")
		if err != nil {
			return
		}
		again, err := east.Revoke(l.Line, l.Serial, l.Issued, l.Devices)
		if err != nil || again.Body != B64(data) {
			t.Fatalf("accepted a body that does not round-trip: %q", data)
		}
	})
}
