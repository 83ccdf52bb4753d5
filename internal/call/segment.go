package call

import (
	"errors"
	"fmt"
	"slices"

	"hotline/internal/protocol"
	"hotline/internal/role"
)

// Segments (docs/PROTOCOL.md, "Segments"): a live call is private until a
// segment marker opens its public segment, and private again after the
// marker that closes it. The call does not check the marker's signature
// (the caller has: internal/httpapi with internal/marker, and every client
// does again); it keeps the order (each marker's Seq follows the last) and
// applies the segment: the press is in the call only while it is public.

// Errors of SetSegment.
var (
	ErrNoCall      = errors.New("no such live call")
	ErrMarkerSeq   = errors.New("marker out of order")
	ErrSameSegment = errors.New("the call is already in that segment")
)

// EventSegment: the call entered Segment by Marker (issued by the device
// Marker's credential names); Seq is Marker.Seq. An audit log records the
// marker as it is: it verifies without the server.
const EventSegment EventKind = "segment"

// pressOnly: a member whose roles receive the public segment and nothing
// else (the press): in the call during the public segment, in the lobby
// otherwise.
func pressOnly(rs []role.Role) bool {
	return role.AllowedAny(rs, role.ReceivePublicSegment) && !role.AllowedAny(rs, role.ReceiveMedia) &&
		!role.AllowedAny(rs, role.AdmitFromLobby)
}

// Segment is the live call's segment and its last marker (nil before the
// first).
func (c *Call) Segment() (string, *protocol.Marker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.segment, c.marker
}

// SegmentOf is the segment and last marker of the live call named name.
func (r *Registry) SegmentOf(name string) (string, *protocol.Marker, error) {
	r.mu.Lock()
	c := r.calls[name]
	r.mu.Unlock()
	if c == nil {
		return "", nil, fmt.Errorf("%w: %s", ErrNoCall, name)
	}
	s, m := c.Segment()
	return s, m, nil
}

// SetSegment moves the live call named name into m.Segment. m must be the
// call's next marker (Seq one past the last) and change the segment. The
// press enters the call with the public segment and goes back to the lobby
// with the private one; every member gets the roster carrying m, and the
// clients rekey without the press (as for a departure).
func (r *Registry) SetSegment(name string, m protocol.Marker) error {
	defer r.ev.flush()
	r.mu.Lock()
	c := r.calls[name]
	r.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%w: %s", ErrNoCall, name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over {
		return fmt.Errorf("%w: %s", ErrNoCall, name)
	}
	if m.Seq != c.seq+1 {
		return fmt.Errorf("%w: seq %d, the next is %d", ErrMarkerSeq, m.Seq, c.seq+1)
	}
	if m.Segment == c.segment {
		return fmt.Errorf("%w: %s", ErrSameSegment, m.Segment)
	}
	c.segment, c.seq, c.marker = m.Segment, m.Seq, &m
	c.emit(Event{Kind: EventSegment, Segment: m.Segment, Marker: &m})
	for _, e := range c.members {
		if !pressOnly(e.id.Roles) {
			continue
		}
		from, to := e.state, c.pressState()
		if from == to {
			continue
		}
		e.state = to
		c.emit(Event{Kind: EventMoved, Member: e.id, From: from, To: to})
	}
	for _, e := range slices.Clone(c.members) {
		c.syncLocked(e)
	}
	c.broadcastRoster()
	return nil
}

// pressState is where the press is in the call's current segment.
func (c *Call) pressState() State {
	if c.segment == protocol.SegmentPublic {
		return StateIn
	}
	return StateWaiting
}
