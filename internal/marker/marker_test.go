package marker_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

var t0 = time.Unix(1_795_000_000, 0)

func device(t testing.TB, auth *trust.Authority, b byte, roles ...role.Role) *trust.Device {
	t.Helper()
	d, err := trust.DeviceFromSeeds(bytes.Repeat([]byte{b}, 32), bytes.Repeat([]byte{b + 1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	req, err := d.Request(auth.Side, "signer", roles, t0)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.Sign(req, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d.Credential = &cred
	return d
}

func authority(t testing.TB) *trust.Authority {
	a, err := trust.AuthorityFromSeed("east", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSignVerify(t *testing.T) {
	auth := authority(t)
	pins := []trust.Pin{auth.Pin()}
	officer := device(t, auth, 1, role.PressOfficer)
	m := marker.Sign(officer, "demo", "c1", protocol.SegmentPublic, 1, t0)
	who, err := marker.Verify(m, "demo", "c1", pins, t0)
	if err != nil || who.DeviceID != officer.ID() {
		t.Fatalf("verify: %v %v", who, err)
	}
	// Every signed field is bound: a change to any one fails.
	for name, edit := range map[string]func(*protocol.Marker){
		"segment": func(m *protocol.Marker) { m.Segment = protocol.SegmentPrivate },
		"seq":     func(m *protocol.Marker) { m.Seq++ },
		"at":      func(m *protocol.Marker) { m.At++ },
		"call":    func(m *protocol.Marker) { m.Call = "c2" },
	} {
		x := m
		edit(&x)
		_, err := marker.Verify(x, x.Line, x.Call, pins, t0)
		if err == nil {
			t.Errorf("%s changed: verified", name)
		}
	}
	if _, err := marker.Verify(m, "demo", "c1", nil, t0); err == nil {
		t.Error("verified without the side's pin")
	}
	if _, err := marker.Verify(m, "demo", "c1", pins, t0.Add(2*time.Hour)); err == nil {
		t.Error("verified with an expired credential")
	}
	press := device(t, auth, 3, role.Press)
	if _, err := marker.Verify(marker.Sign(press, "demo", "c1", protocol.SegmentPrivate, 1, t0), "demo", "c1", pins, t0); !errors.Is(err, marker.ErrNotAllowed) {
		t.Errorf("the press's own marker: %v", err)
	}
}

// FuzzMarker: any bytes as a posted marker decode with a clear error or
// into a marker that passes Validate and survives a round trip; Verify
// never panics on what decodes.
func FuzzMarker(f *testing.F) {
	auth := authority(f)
	pins := []trust.Pin{auth.Pin()}
	good, _ := json.Marshal(marker.Sign(device(f, auth, 1, role.Principal), "demo", "c1", protocol.SegmentPublic, 1, t0))
	f.Add(good)
	f.Add([]byte(`{"line":"demo","call":"c1","segment":"public","seq":0,"at":1,"credential":{"body":"","sig":""},"sig":""}`))
	f.Add([]byte(`{"line":"demo"} {}`))
	f.Add([]byte(`{"seq":4294967296}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := protocol.DecodeMarker(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded but invalid: %v", err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := protocol.DecodeMarker(b)
		if err != nil || again != m {
			t.Fatalf("round trip: %v", err)
		}
		_, _ = marker.Verify(m, m.Line, m.Call, pins, t0)
	})
}
