package audit_test

import (
	"errors"
	"testing"
	"time"

	"hotline/internal/audit"
	"hotline/internal/marker"
	"hotline/internal/probe"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// enrolled is a device of side east of line demo with roles, and the pins.
func enrolled(t *testing.T, auth *trust.Authority, name string, roles ...role.Role) *trust.Device {
	t.Helper()
	dev, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req, _ := dev.Request("east", name, roles, now)
	cred, err := auth.Sign(req, now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dev.Credential, dev.Pins = &cred, []trust.Pin{auth.Pin()}
	return dev
}

// linked is the export of entries es, chained.
func linked(t *testing.T, es ...audit.Entry) audit.Export {
	t.Helper()
	x := audit.Export{Record: 1, Line: "demo"}
	var seq uint64
	var prev []byte
	for _, e := range es {
		e, enc, h, err := audit.Link(e, seq, prev)
		if err != nil {
			t.Fatal(err)
		}
		x.Entries = append(x.Entries, string(enc))
		seq, prev = e.Seq, h
	}
	return x
}

// TestSignedEntries: a probe entry's report and a segment entry's marker
// are verified against the pins by audit verify, even in a chain the
// server linked faithfully: a forged report, an entry that misstates its
// report, a marker of a signer who may not press, or a forged marker
// break the chain at that entry.
func TestSignedEntries(t *testing.T) {
	auth, err := trust.NewAuthority("east")
	if err != nil {
		t.Fatal(err)
	}
	prober := enrolled(t, auth, "East Probe", role.Probe)
	alice := enrolled(t, auth, "Alice", role.Principal)
	adviser := enrolled(t, auth, "Adam", role.Adviser)
	pins := alice.Pins
	now := time.Now()
	rep, err := probe.Sign(prober, probe.Result{V: 1, Line: "demo", Run: "probe-1", Side: "east", Device: prober.ID(),
		Started: now.UnixMilli(), OK: true, FramesDecrypted: 10, CodeDigest: probe.CodeDigest("1111 2222 3333 4444 5555")})
	if err != nil {
		t.Fatal(err)
	}
	repJSON, _ := trust.Canonical(rep)
	probeEntry, err := audit.ProbeEntry("demo", now, repJSON)
	if err != nil {
		t.Fatal(err)
	}
	seg := func(m protocol.Marker) audit.Entry {
		return audit.Entry{Line: "demo", At: now.UnixMilli(), Kind: audit.Segment, Call: "c-1", To: m.Segment, Marker: &m}
	}
	good := marker.Sign(alice, "demo", "c-1", protocol.SegmentPublic, 1, now)
	alert := audit.Entry{Line: "demo", At: now.UnixMilli(), Kind: audit.Alert, Call: "probe-1", From: "green", To: "down", Reason: "west: no frame"}
	r, err := audit.Verify(linked(t, probeEntry, seg(good), alert), pins, nil)
	if err != nil || r.Counts[audit.Probe] != 1 || r.Counts[audit.Segment] != 1 || r.Counts[audit.Alert] != 1 {
		t.Fatalf("genuine entries: %v %v", r.Counts, err)
	}

	forgedReport := probeEntry
	s := *forgedReport.Report
	s.Sig = trust.B64(make([]byte, 64))
	forgedReport.Report = &s
	notOK := probeEntry
	f := false
	notOK.OK = &f
	forgedMarker := good
	forgedMarker.Seq = 2
	for what, e := range map[string]audit.Entry{
		"a forged report":             forgedReport,
		"an entry unlike its report":  notOK,
		"an adviser's marker":         seg(marker.Sign(adviser, "demo", "c-1", protocol.SegmentPublic, 1, now)),
		"a forged marker":             seg(forgedMarker),
		"another call's marker":       seg(marker.Sign(alice, "demo", "c-2", protocol.SegmentPublic, 1, now)),
		"a marker of another segment": func() audit.Entry { e := seg(good); e.To = protocol.SegmentPrivate; return e }(),
	} {
		var b *audit.Break
		if _, err := audit.Verify(linked(t, alert, e), pins, nil); !errors.As(err, &b) || b.Seq != 2 {
			t.Errorf("%s: %v, want a break at 2", what, err)
		}
	}
	for what, e := range map[string]audit.Entry{
		"a segment entry without its marker": {Line: "demo", Kind: audit.Segment, To: "public"},
		"a probe entry without its report":   {Line: "demo", Kind: audit.Probe, Call: "probe-1", OK: &f},
		"an alert without its states":        {Line: "demo", Kind: audit.Alert},
	} {
		if _, _, _, err := audit.Link(e, 0, nil); !errors.Is(err, audit.ErrMalformed) {
			t.Errorf("%s: %v, want malformed", what, err)
		}
	}
}
