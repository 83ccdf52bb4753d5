package e2ee_test

import (
	"errors"
	"slices"
	"testing"

	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// TestSegmentFromMarkerOnly (THREAT_MODEL.md, "the server cannot fake or
// roll back a segment marker"): a principal's client sends its key to the
// press only in a public segment that a verified marker opened. A roster
// that says "public" without a marker, with a marker the signer's roles do
// not allow, a forged one, or the opening's marker replayed after the cut
// leaves it private: no key to the press, and the refusal is reported.
func TestSegmentFromMarkerOnly(t *testing.T) {
	east := mgrAuthority(t, "east", 0x51)
	pins := []trust.Pin{east.Pin()}
	a := newMgrParty(t, east, "a", 0x10, role.Principal).start(pins...)
	p := newMgrParty(t, east, "p", 0x20, role.Press).start(pins...)
	sign := func(by *mgrParty, segment string, seq uint32) *protocol.Marker {
		m := marker.Sign(by.dev, "demo", "c1", segment, seq, mgrNow)
		return &m
	}
	roster := func(segment string, m *protocol.Marker) protocol.Roster {
		r := rosterOf(a.in(protocol.StateIn), p.in(protocol.StateIn))
		r.Segment, r.Marker = segment, m
		return r
	}
	keysToPress := func() int {
		return len(slices.DeleteFunc(a.take(), func(k protocol.Key) bool { return k.To != p.id }))
	}
	check := func(what string, r protocol.Roster, wantSeg string, wantErr error, wantKeys bool) {
		t.Helper()
		a.m.SetRoster(r)
		s, err := a.m.Segment()
		if s.Segment != wantSeg || !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Errorf("%s: segment %q, %v; want %q, %v", what, s.Segment, err, wantSeg, wantErr)
		}
		if n := keysToPress(); (n > 0) != wantKeys {
			t.Errorf("%s: %d keys to the press, want any: %v", what, n, wantKeys)
		}
	}

	check("private, no marker", roster(protocol.SegmentPrivate, nil), protocol.SegmentPrivate, nil, false)
	check("public without a marker", roster(protocol.SegmentPublic, nil), protocol.SegmentPrivate, marker.ErrUnsigned, false)
	check("public by the press itself", roster(protocol.SegmentPublic, sign(p, protocol.SegmentPublic, 1)),
		protocol.SegmentPrivate, marker.ErrNotAllowed, false)
	forged := sign(a, protocol.SegmentPrivate, 1)
	forged.Segment = protocol.SegmentPublic
	check("forged", roster(protocol.SegmentPublic, forged), protocol.SegmentPrivate, trust.ErrBadSignature, false)
	other := marker.Sign(a.dev, "demo", "c2", protocol.SegmentPublic, 1, mgrNow)
	check("another call's", roster(protocol.SegmentPublic, &other), protocol.SegmentPrivate, marker.ErrWrongCall, false)

	open := sign(a, protocol.SegmentPublic, 1)
	check("opened by the principal", roster(protocol.SegmentPublic, open), protocol.SegmentPublic, nil, true)
	epoch := a.m.KID()
	check("the same marker again", roster(protocol.SegmentPublic, open), protocol.SegmentPublic, nil, false)
	check("go private", roster(protocol.SegmentPrivate, sign(a, protocol.SegmentPrivate, 2)), protocol.SegmentPrivate, nil, false)
	if a.m.KID() == epoch {
		t.Error("no new epoch at the cut")
	}
	check("the opening replayed", roster(protocol.SegmentPublic, open), protocol.SegmentPrivate, marker.ErrRollback, false)
	check("the marker dropped", roster(protocol.SegmentPublic, nil), protocol.SegmentPrivate, marker.ErrUnsigned, false)
	check("reopened", roster(protocol.SegmentPublic, sign(a, protocol.SegmentPublic, 3)), protocol.SegmentPublic, nil, true)
}
