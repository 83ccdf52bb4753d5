package probe

import (
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/internal/role"
	"hotline/internal/trust"
)

// line is a line of two sides with their authorities, for tests.
type line struct {
	auth map[string]*trust.Authority
	pins []trust.Pin
}

func newLine(t testing.TB) line {
	t.Helper()
	l := line{auth: map[string]*trust.Authority{}}
	for _, side := range []string{"east", "west"} {
		a, err := trust.NewAuthority(side)
		if err != nil {
			t.Fatal(err)
		}
		l.auth[side] = a
		l.pins = append(l.pins, a.Pin())
	}
	return l
}

func (l line) device(t testing.TB, side string, roles ...role.Role) *trust.Device {
	t.Helper()
	dev, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req, err := dev.Request(side, side+" probe", roles, now)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := l.auth[side].Sign(req, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dev.Credential, dev.Pins = &cred, l.pins
	return dev
}

func goodResult(dev *trust.Device, side string) Result {
	return Result{V: 1, Line: "demo", Run: "probe-20261206t020000", Side: side, Device: dev.ID(), PeerSide: "west",
		Started: time.Now().UnixMilli(), OK: true, JoinMs: 300, KeyMs: 80, RTTMs: 1.2, JitterMs: 3, Loss: 0.001,
		BitrateKbps: 990, TargetKbps: 1000, FramesDecrypted: 200, CodeDigest: CodeDigest("1234 5678 9012 3456 7890")}
}

func TestSignVerify(t *testing.T) {
	l := newLine(t)
	dev := l.device(t, "east", role.Probe)
	want := goodResult(dev, "east")
	rep, err := Sign(dev, want)
	if err != nil {
		t.Fatal(err)
	}
	got, id, err := Verify(rep, "demo", l.pins, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got != want || id.Side != "east" {
		t.Errorf("verified %+v of %s, want %+v", got, id.Side, want)
	}
}

// TestForgedResults: a result is refused unless the probe device of the side
// it names signed it, for the line it names, with figures in bounds.
func TestForgedResults(t *testing.T) {
	l := newLine(t)
	east := l.device(t, "east", role.Probe)
	west := l.device(t, "west", role.Probe)
	principal := l.device(t, "east", role.Principal)
	other := newLine(t).device(t, "east", role.Probe)
	sign := func(dev *trust.Device, edit func(*Result)) Report {
		r := goodResult(dev, "east")
		edit(&r)
		rep, err := Sign(dev, r)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	same := func(*Result) {}
	flipped := sign(east, same)
	b := []byte(flipped.Body)
	b[10] ^= 1
	flipped.Body = string(b)
	wrongSig := sign(east, same)
	wrongSig.Sig = sign(east, func(r *Result) { r.JoinMs = 1 }).Sig
	for name, tc := range map[string]struct {
		rep  Report
		want error
	}{
		"body altered":                    {flipped, ErrBadSignature},
		"another result's signature":      {wrongSig, ErrBadSignature},
		"the other side's device":         {sign(west, func(r *Result) { r.Device = east.ID() }), ErrNotSigner},
		"the other side's device, own id": {sign(west, same), ErrNotSigner},
		"another device of the side":      {sign(east, func(r *Result) { r.Device = west.ID() }), ErrNotSigner},
		"another line":                    {sign(east, func(r *Result) { r.Line = "other" }), ErrNotSigner},
		"not a probe":                     {sign(principal, func(r *Result) { r.Device = principal.ID() }), ErrNotProbe},
		"an authority not pinned":         {sign(other, func(r *Result) { r.Device = other.ID() }), trust.ErrUnknownAuthority},
		"negative loss":                   {sign(east, func(r *Result) { r.Loss = -0.1 }), ErrMalformed},
		"loss over 1":                     {sign(east, func(r *Result) { r.Loss = 1.5 }), ErrMalformed},
		"not a test call":                 {sign(east, func(r *Result) { r.Run = "c-7kq2mrx4tp3a" }), ErrMalformed},
		"ok without frames":               {sign(east, func(r *Result) { r.FramesDecrypted = 0 }), ErrMalformed},
		"version 2":                       {sign(east, func(r *Result) { r.V = 2 }), ErrMalformed},
		"join of an hour":                 {sign(east, func(r *Result) { r.JoinMs = 3_600_000 }), ErrMalformed},
	} {
		if _, _, err := Verify(tc.rep, "demo", l.pins, time.Now()); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestParseReportStrict(t *testing.T) {
	l := newLine(t)
	dev := l.device(t, "east", role.Probe)
	rep, err := Sign(dev, goodResult(dev, "east"))
	if err != nil {
		t.Fatal(err)
	}
	good := `{"body":"` + rep.Body + `","sig":"` + rep.Sig + `","credential":{"body":"` + rep.Credential.Body + `","sig":"` + rep.Credential.Sig + `"}}`
	if _, err := ParseReport([]byte(good)); err != nil {
		t.Fatalf("good report: %v", err)
	}
	for _, bad := range []string{
		good + "{}",
		strings.Replace(good, `"sig"`, `"sig2"`, 1),
		`{"body":"","sig":"x","credential":{"body":"a","sig":"b"}}`,
		`{"body":"` + strings.Repeat("A", MaxReport) + `"}`,
		`[]`,
	} {
		if _, err := ParseReport([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseReport(%.40q…) = %v, want ErrMalformed", bad, err)
		}
	}
}

func FuzzParseReport(f *testing.F) {
	l := newLine(f)
	dev := l.device(f, "east", role.Probe)
	rep, err := Sign(dev, goodResult(dev, "east"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"body":"` + rep.Body + `","sig":"` + rep.Sig + `","credential":{"body":"` + rep.Credential.Body + `","sig":"` + rep.Credential.Sig + `"}}`))
	f.Add([]byte(`{"body":"e30","sig":"AA","credential":{"body":"e30","sig":"AA"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := ParseReport(data)
		if err != nil {
			return
		}
		if r, _, err := Verify(rep, "demo", l.pins, time.Now()); err == nil {
			if r.check() != nil || r.Side != "east" {
				t.Fatalf("verified a result out of bounds: %+v", r)
			}
		}
		_, _ = BodyOf(rep)
	})
}
