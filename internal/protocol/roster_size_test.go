package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"hotline/internal/role"
	"hotline/internal/trust"
)

// rosterHeadroom is the share of MaxMessageBytes that a roster of
// MaxParticipants maximal entries must leave free, for fields that later
// versions add to entries.
var rosterHeadroom = 0.2

// maximalEntry is a roster entry with every field at its bound, as the
// server could send it: a real credential for a 32-byte side, a name of
// MaxNameRunes four-byte characters and every role; ids at MaxIDBytes; the
// entry's name of characters that encoding/json escapes to six bytes
// (\u003c); MaxTracks tracks with ids and sources at MaxIDBytes.
func maximalEntry(t *testing.T, i int) RosterEntry {
	t.Helper()
	side := strings.Repeat("s", trust.MaxSideBytes)
	a, err := trust.NewAuthority(side)
	if err != nil {
		t.Fatal(err)
	}
	d, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req, err := d.Request(side, strings.Repeat("\U0001F600", MaxNameRunes), role.All, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Sign(req, now, now.Add(trust.MaxLifetime*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	id := func(prefix string) string {
		s := fmt.Sprintf("%s%d", prefix, i)
		return s + strings.Repeat("x", MaxIDBytes-len(s))
	}
	e := RosterEntry{ID: id("p"), Device: id("d"), Name: strings.Repeat("<", MaxNameRunes),
		Credential: Credential{Body: c.Body, Sig: c.Sig}, State: StateWaiting, Listening: "abc-abcdefgh-abcdefgh-abcdefgh-abcd"} // the longest listening choice
	for j := range MaxTracks {
		e.Tracks = append(e.Tracks, TrackInfo{ID: id(fmt.Sprintf("t%d-", j)), Kind: KindVideo, Source: id(fmt.Sprintf("s%d-", j))})
	}
	return e
}

// TestMaxRosterFits: a roster of MaxParticipants maximal entries fits in
// one message with rosterHeadroom to spare, decodes on the client's side,
// and one more entry is refused.
// maximalRevocation is a revocation list with every field at its bound: a
// 32-byte side, a 64-byte line, the largest serial and MaxRevoked devices.
func maximalRevocation(t *testing.T, fill string) Credential {
	t.Helper()
	a, err := trust.NewAuthority(strings.Repeat(fill, trust.MaxSideBytes))
	if err != nil {
		t.Fatal(err)
	}
	devices := make([]string, trust.MaxRevoked)
	for i := range devices {
		devices[i] = fmt.Sprintf("%016x", i)
	}
	r, err := a.Revoke(strings.Repeat("l", MaxIDBytes), trust.MaxTime, time.Unix(1<<40, 0), devices)
	if err != nil {
		t.Fatal(err)
	}
	return Credential{Body: r.Body, Sig: r.Sig}
}

func TestMaxRosterFits(t *testing.T) {
	var entries []RosterEntry
	for i := range MaxParticipants + 1 {
		entries = append(entries, maximalEntry(t, i))
	}
	one, err := json.Marshal(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	// Both sides' revocation lists at their bound ride along.
	full, err := json.Marshal(Roster{Type: TypeRoster, Segment: SegmentPrivate, Participants: entries[:MaxParticipants],
		Revocations: []Credential{maximalRevocation(t, "a"), maximalRevocation(t, "b")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a maximal roster entry is %d bytes; a roster of %d such entries %d bytes, %.0f%% of the %d-byte message limit",
		len(one), MaxParticipants, len(full), 100*float64(len(full))/MaxMessageBytes, MaxMessageBytes)
	if limit := int((1 - rosterHeadroom) * MaxMessageBytes); len(full) > limit {
		t.Errorf("a full roster is %d bytes, over %d (%.0f%% of the message limit): lower MaxParticipants or send less",
			len(full), limit, 100*(1-rosterHeadroom))
	}
	if _, err := DecodeServer(full); err != nil {
		t.Errorf("a full roster does not decode: %v", err)
	}
	// A segment marker (a credential, names at their bounds) takes part of
	// the headroom: the full roster that carries one still fits and decodes.
	e := entries[0]
	marked := Roster{Type: TypeRoster, Segment: SegmentPublic, Participants: entries[:MaxParticipants],
		Marker: &Marker{Line: e.ID, Call: e.Device, Segment: SegmentPublic, Seq: MaxMarkerSeq, At: 1 << 53,
			Credential: e.Credential, Sig: strings.Repeat("A", SigB64Len)}}
	withMarker, err := json.Marshal(marked)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("with a segment marker: %d bytes, %.0f%% of the limit", len(withMarker), 100*float64(len(withMarker))/MaxMessageBytes)
	if len(withMarker) > MaxMessageBytes {
		t.Errorf("a full roster with a marker is %d bytes, over the message limit", len(withMarker))
	}
	if _, err := DecodeServer(withMarker); err != nil {
		t.Errorf("a full roster with a marker does not decode: %v", err)
	}
	over, err := json.Marshal(Roster{Type: TypeRoster, Segment: SegmentPrivate, Participants: entries})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeServer(over); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at most %d", MaxParticipants)) {
		t.Errorf("a roster of %d entries: %v, want refused", len(entries), err)
	}
}
