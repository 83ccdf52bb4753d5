package opening_test

import (
	"testing"
	"time"

	"hotline/internal/marker"
	"hotline/internal/opening"
	"hotline/internal/protocol"
	"hotline/internal/role"
)

// TestDeadlineAndOffer: the offer goes to those who may open, only for a
// booked opening never opened; the end is the first marker's time plus the
// booked length, and only for that opening.
func TestDeadlineAndOffer(t *testing.T) {
	at := time.UnixMilli(1795000000000)
	open := &protocol.Marker{Segment: protocol.SegmentPublic, Seq: 1, At: at.UnixMilli()}
	never := marker.State{Segment: protocol.SegmentPrivate}
	principal, adviser := []role.Role{role.Principal}, []role.Role{role.Adviser}
	for _, tt := range []struct {
		name   string
		st     marker.State
		booked time.Duration
		roles  []role.Role
		offer  bool
	}{
		{"a principal, booked, never opened", never, time.Minute, principal, true},
		{"an adviser may not open", never, time.Minute, adviser, false},
		{"nothing booked", never, 0, principal, false},
		{"already opened", marker.State{Segment: protocol.SegmentPublic, Seq: 1, Marker: open}, time.Minute, principal, false},
		{"closed since", marker.State{Segment: protocol.SegmentPrivate, Seq: 2, Marker: &protocol.Marker{Seq: 2}}, time.Minute, principal, false},
	} {
		if got := opening.Offered(tt.st, tt.booked, tt.roles); got != tt.offer {
			t.Errorf("%s: offered %v", tt.name, got)
		}
	}
	if end, ok := opening.Deadline(marker.State{Segment: protocol.SegmentPublic, Seq: 1, Marker: open}, 10*time.Minute); !ok || !end.Equal(at.Add(10*time.Minute)) {
		t.Errorf("deadline %v %v", end, ok)
	}
	for name, st := range map[string]marker.State{
		"private":           never,
		"opened live later": {Segment: protocol.SegmentPublic, Seq: 3, Marker: &protocol.Marker{Segment: protocol.SegmentPublic, Seq: 3}},
	} {
		if _, ok := opening.Deadline(st, 10*time.Minute); ok {
			t.Errorf("%s: a deadline", name)
		}
	}
	if _, ok := opening.Deadline(marker.State{Segment: protocol.SegmentPublic, Seq: 1, Marker: open}, 0); ok {
		t.Error("a deadline with nothing booked")
	}
}
