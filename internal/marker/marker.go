// Package marker makes and checks segment markers (docs/PROTOCOL.md,
// "Segments"): the statement, signed by the device of a principal, press
// officer or operator, that a call enters its public segment or goes
// private. The server checks a marker before it relays it (internal/httpapi)
// and every client checks it again before it believes the segment
// (internal/e2ee): the segment decides whether the press gets keys, so the
// server alone can neither open it nor keep it open. The browser's copy is
// static/e2ee/marker.js; testdata/marker.json pins both.
package marker

import (
	"errors"
	"fmt"
	"time"

	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// Errors of Verify and Check.
var (
	ErrWrongCall  = errors.New("marker is for another call")
	ErrNotAllowed = errors.New("the marker's signer may not run the public segment")
	ErrUnsigned   = errors.New("public segment without a marker")
	ErrRollback   = errors.New("marker older than one already seen")
)

// Action is the role action a marker for segment needs.
func Action(segment string) role.Action {
	if segment == protocol.SegmentPublic {
		return role.StartPublicSegment
	}
	return role.EndPublicSegment
}

// Sign makes the marker by which device d states that line/call enters
// segment as its seq-th change, at at.
func Sign(d *trust.Device, line, call, segment string, seq uint32, at time.Time) protocol.Marker {
	st := trust.Segment{Line: line, Call: call, Segment: segment, Seq: seq, At: at.UnixMilli()}
	cred := protocol.Credential{}
	if d.Credential != nil {
		cred = protocol.Credential{Body: d.Credential.Body, Sig: d.Credential.Sig}
	}
	return protocol.Marker{Line: line, Call: call, Segment: segment, Seq: seq, At: st.At,
		Credential: cred, Sig: trust.B64(trust.SignSegment(d.SigPrivate(), st))}
}

// Verify checks m for the call line/call: its fields, the signer's
// credential against the line's pins at now, that the signer's roles allow
// the segment's action, and the signature. It returns the signer.
func Verify(m protocol.Marker, line, call string, pins []trust.Pin, now time.Time) (*trust.Identity, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", trust.ErrMalformed, err)
	}
	if m.Line != line || m.Call != call {
		return nil, fmt.Errorf("%w: %s/%s, not %s/%s", ErrWrongCall, m.Line, m.Call, line, call)
	}
	who, err := trust.VerifyCredential(trust.Credential{Body: m.Credential.Body, Sig: m.Credential.Sig}, pins, now)
	if err != nil {
		return nil, fmt.Errorf("marker's credential: %w", err)
	}
	if !role.AllowedAny(who.Roles, Action(m.Segment)) {
		return nil, fmt.Errorf("%w: %s has roles %v", ErrNotAllowed, who.Name, who.Roles)
	}
	sig, err := trust.DecodeB64(m.Sig)
	if err != nil {
		return nil, fmt.Errorf("%w: marker signature: %v", trust.ErrMalformed, err)
	}
	st := trust.Segment{Line: m.Line, Call: m.Call, Segment: m.Segment, Seq: m.Seq, At: m.At}
	if err := trust.VerifySegment(who.SigKey, st, sig); err != nil {
		return nil, err
	}
	return who, nil
}

// State is what a client believes of its call's segment: the last marker
// it accepted (Seq 0: none yet, the call is private).
type State struct {
	Segment string
	Seq     uint32
	Marker  *protocol.Marker
	By      *trust.Identity
}

// Check is a client's verdict on a roster's segment, given what it
// believed before (prev): the segment it may act on and, if the roster's
// claim was refused, why. It fails closed: a public segment without a
// marker that verifies, a marker for another call, or one older than a
// marker already accepted (the server replaying the opening after the cut)
// leaves the client private, and is reported so the UI can say so.
func Check(r protocol.Roster, line, call string, pins []trust.Pin, now time.Time, prev State) (State, error) {
	private := State{Segment: protocol.SegmentPrivate, Seq: prev.Seq, Marker: prev.Marker, By: prev.By}
	if r.Marker == nil {
		if r.Segment == protocol.SegmentPublic {
			return private, ErrUnsigned
		}
		if prev.Seq > 0 {
			// The server dropped the marker: keep the last one (private
			// is the safe side whatever it said).
			return private, ErrRollback
		}
		return State{Segment: protocol.SegmentPrivate}, nil
	}
	m := *r.Marker
	if m.Seq == prev.Seq && prev.Marker != nil && *prev.Marker == m {
		return prev, nil // the marker we hold, repeated with each roster
	}
	if m.Seq <= prev.Seq {
		return private, fmt.Errorf("%w: seq %d after %d", ErrRollback, m.Seq, prev.Seq)
	}
	who, err := Verify(m, line, call, pins, now)
	if err != nil {
		return private, err
	}
	if m.Segment != r.Segment {
		return private, fmt.Errorf("%w: roster says %q, marker %q", trust.ErrMalformed, r.Segment, m.Segment)
	}
	return State{Segment: m.Segment, Seq: m.Seq, Marker: &m, By: who}, nil
}
