package call

import (
	"errors"
	"fmt"
	"slices"

	"hotline/internal/protocol"
	"hotline/internal/role"
)

// State is where a member is in a live call (docs/PROTOCOL.md, "Lobby and
// roles"). Only members that are in take part in the media: they receive
// others' tracks (if their roles allow receiving media) and others receive
// theirs. A member waiting in the lobby or on the bench stays connected,
// sees the roster, and neither sends nor receives media.
type State string

const (
	StateIn      State = protocol.StateIn      // admitted and in the call
	StateWaiting State = protocol.StateWaiting // in the lobby, until an operator or principal of its side admits it
	StateBench   State = protocol.StateBench   // an adviser admitted but not in the room: called in and sent out at will
)

// Kinds of call (internal/schedule): a phone call is voice only.
const (
	KindVideo = "video"
	KindPhone = "phone"
)

// Admission is what the server knows of a member before it joins: the kind
// of the call it joins, and whether the call names it in advance (an adviser
// named on the call waits on the bench, not in the lobby).
type Admission struct {
	Kind  string // KindVideo or KindPhone; "" is video
	Named bool
}

// Errors of admission actions.
var (
	ErrWrongState = errors.New("not possible in the participant's state")
	ErrPhoneCall  = errors.New("a phone call carries no video")
)

// initialState: principals and operators are in at once; an adviser named
// on the call goes to the bench; everyone else waits in the lobby until
// someone of their side admits them.
func initialState(m Member, a Admission) State {
	rs := m.Roles()
	switch {
	case role.AllowedAny(rs, role.AdmitFromLobby):
		return StateIn
	case a.Named && slices.Contains(rs, role.Adviser):
		return StateBench
	default:
		return StateWaiting
	}
}

// denied is a refusal by the role matrix as the call's own: its message is
// role.Check's alone, which already says "not allowed" (wrapping it with
// ErrForbidden's text said it twice); errors.Is finds ErrForbidden and
// role.ErrForbidden.
type denied struct{ err error }

func (d denied) Error() string   { return d.err.Error() }
func (d denied) Unwrap() []error { return []error{ErrForbidden, d.err} }

// receives: whether e gets other members' tracks.
func (e *entry) receives() bool {
	return e.state == StateIn && role.AllowedAny(e.m.Roles(), role.ReceiveMedia)
}

// CheckTracks decides whether a member with these roles may publish these
// tracks in a call of this kind: press and monitors publish nothing,
// interpreters only audio, which is labelled as interpretation; a phone
// call carries no video. It returns the tracks as they will be announced.
func CheckTracks(roles []role.Role, kind string, tracks []protocol.TrackInfo) ([]protocol.TrackInfo, error) {
	out := make([]protocol.TrackInfo, len(tracks))
	for i, t := range tracks {
		switch {
		case t.Kind == protocol.KindVideo && kind == KindPhone:
			return nil, fmt.Errorf("%w: track %q", ErrPhoneCall, t.ID)
		case t.Kind == protocol.KindVideo:
			if err := role.Check(roles, role.PublishVideo); err != nil {
				return nil, denied{err}
			}
		case role.AllowedAny(roles, role.PublishAudio):
		case role.AllowedAny(roles, role.PublishInterpretation):
			t.Source = "interpretation"
		default:
			return nil, denied{role.Check(roles, role.PublishAudio)}
		}
		out[i] = t
	}
	return out, nil
}

// Admit lets a member waiting in the lobby in (admit_from_lobby).
func (c *Call) Admit(byID, targetID string) error {
	return c.move(byID, targetID, role.AdmitFromLobby, StateWaiting, StateIn, false)
}

// CallIn brings an adviser from the bench into the call (call_in_adviser).
func (c *Call) CallIn(byID, targetID string) error {
	return c.move(byID, targetID, role.CallInAdviser, StateBench, StateIn, true)
}

// SendOut sends an adviser from the call back to the bench
// (send_out_adviser): it stops receiving and sending at once, and the
// others rekey as for a departure.
func (c *Call) SendOut(byID, targetID string) error {
	return c.move(byID, targetID, role.SendOutAdviser, StateIn, StateBench, true)
}

// move is one admission action: by's roles must allow it, the target must
// be of by's side (and an adviser, for the bench), in state from.
func (c *Call) move(byID, targetID string, action role.Action, from, to State, adviser bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, target, err := c.actorAndTarget(byID, targetID, action)
	if err != nil {
		return err
	}
	if adviser && !slices.Contains(target.m.Roles(), role.Adviser) {
		return fmt.Errorf("%w: %s is not an adviser", ErrForbidden, target.m.Name())
	}
	if target.state != from {
		return fmt.Errorf("%w: %s is %s, not %s", ErrWrongState, target.m.Name(), target.state, from)
	}
	c.setStateLocked(target, to)
	c.broadcastRoster()
	return nil
}

// actorAndTarget checks the common rules of an action on another member:
// both in the call, the actor's roles allow it, the same side.
func (c *Call) actorAndTarget(byID, targetID string, action role.Action) (by, target *entry, err error) {
	by = c.find(byID)
	if by == nil {
		return nil, nil, ErrNotMember
	}
	if err := role.Check(by.m.Roles(), action); err != nil {
		return nil, nil, denied{err}
	}
	target = c.find(targetID)
	if target == nil || target == by {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoRecipient, targetID)
	}
	if target.m.Side() != by.m.Side() {
		return nil, nil, fmt.Errorf("%w: %s is of the other side", ErrForbidden, target.m.Name())
	}
	return by, target, nil
}

// setStateLocked moves e to state s and fixes who receives what: a member
// that comes in gets the tracks of everyone in, and they get its tracks; one
// that goes out loses both.
func (c *Call) setStateLocked(e *entry, s State) {
	wasIn := e.state == StateIn
	wasReceiving := e.receives()
	e.state = s
	for _, o := range c.members {
		if o == e {
			continue
		}
		if o.receives() && wasIn != (s == StateIn) {
			for _, p := range e.tracks {
				if s == StateIn {
					o.m.Subscribe(p)
				} else {
					o.m.Unsubscribe(p)
				}
			}
		}
		if o.state == StateIn && wasReceiving != e.receives() {
			for _, p := range o.tracks {
				if e.receives() {
					e.m.Subscribe(p)
				} else {
					e.m.Unsubscribe(p)
				}
			}
		}
	}
}
