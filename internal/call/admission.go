package call

import (
	"errors"
	"fmt"
	"slices"
	"time"

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

// Admission is what the server's gate knows of a member before it joins:
// the kind of the call it joins, whether the call names it in advance (an
// adviser named on the call waits on the bench, not in the lobby), and the
// booked call it joins, if any. The gate writes nothing: the booked call
// starts when the first member is in (internal/server's lifecycle, from the
// events).
type Admission struct {
	Kind    string // KindVideo or KindPhone; "" is video
	Named   bool
	Booking string // the booked call's id; "" for an ad hoc call
	// Languages: the booked call's interpretation languages; the live call
	// opens with them (simultaneous mode).
	Languages []string
	// Opening: the public opening booked with the call (0: none); the
	// roster carries it to the clients, which alone can open it.
	Opening time.Duration
	// Interprets: the languages the booking lets this interpreter serve
	// (its NAME=interpreter:LANG[+LANG]); empty: any of the call's.
	Interprets []string
	// Test: a readiness probe's test call (issue 14): it has no lobby, so
	// every member the gate lets in is in at once.
	Test bool
}

// Errors of admission actions.
var (
	ErrWrongState = errors.New("not possible in the participant's state")
	ErrPhoneCall  = errors.New("a phone call carries no video")
)

// initialState: the members of a test call, principals and operators are
// in at once; an adviser named on the call goes to the bench, an interpreter
// named on it to the call (its booth); everyone else waits in the lobby until
// someone of their side admits them.
func initialState(id Identity) State {
	rs := id.Roles
	switch {
	case id.Admission.Test, role.AllowedAny(rs, role.AdmitFromLobby):
		return StateIn
	case id.Admission.Named && slices.Contains(rs, role.Adviser):
		return StateBench
	case id.Admission.Named && slices.Contains(rs, role.Interpreter):
		return StateIn // an interpreter named on the call goes straight to the booth
	default:
		return StateWaiting
	}
}

// keptPlace is where a device that joins again goes instead of its join
// state (at): the place the last admission action in this call gave it, if
// any. A member admitted from the lobby, or called in or sent out, whose
// connection was lost (a page that rejoins, a client restarted) comes back
// where it was, not to the lobby: the person was let in once by their own
// side, and the device proved its key again. Only the lobby and the bench
// are overridden, so a kept place never takes anything away; a removal
// forgets it (Remove), as does the end of the live call.
func (c *Call) keptPlace(id Identity, at State) (State, bool) {
	kept, ok := c.placed[id.Device]
	if !ok || (at != StateWaiting && at != StateBench) || kept == at {
		return "", false
	}
	return kept, true
}

// denied is a refusal by the role matrix as the call's own: its message is
// role.Check's alone, which already says "not allowed" (wrapping it with
// ErrForbidden's text said it twice); errors.Is finds ErrForbidden and
// role.ErrForbidden.
type denied struct{ err error }

func (d denied) Error() string   { return d.err.Error() }
func (d denied) Unwrap() []error { return []error{ErrForbidden, d.err} }

// CheckTracks decides whether a member with these roles may publish these
// tracks in a call of this kind: press and monitors publish nothing,
// interpreters only audio, which is labelled as interpretation; a phone
// call carries no video. It returns the tracks as they will be announced.
func CheckTracks(roles []role.Role, kind string, tracks []protocol.TrackInfo) ([]protocol.TrackInfo, error) {
	out := make([]protocol.TrackInfo, len(tracks))
	for i, t := range tracks {
		switch {
		case t.Source == protocol.SourceInterpretation || t.Language != "":
			// Only an interpreter speaks into a channel, and only audio;
			// which channel is the call's business (Call.Interpret).
			if err := role.Check(roles, role.PublishInterpretation); err != nil {
				return nil, denied{err}
			}
			if t.Kind != protocol.KindAudio {
				return nil, fmt.Errorf("%w: track %q: a channel carries audio only", ErrForbidden, t.ID)
			}
			t.Source = protocol.SourceInterpretation
		case t.Kind == protocol.KindVideo && kind == KindPhone:
			return nil, fmt.Errorf("%w: track %q", ErrPhoneCall, t.ID)
		case t.Kind == protocol.KindVideo:
			if err := role.Check(roles, role.PublishVideo); err != nil {
				return nil, denied{err}
			}
		case role.AllowedAny(roles, role.PublishAudio):
		case role.AllowedAny(roles, role.PublishInterpretation):
			t.Source = protocol.SourceInterpretation
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
	defer c.reg.ev.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	by, target, err := c.actorAndTarget(byID, targetID, action)
	if err != nil {
		return err
	}
	if adviser && !slices.Contains(target.id.Roles, role.Adviser) {
		return fmt.Errorf("%w: %s is not an adviser", ErrForbidden, target.id.Name)
	}
	if target.state != from {
		return fmt.Errorf("%w: %s is %s, not %s", ErrWrongState, target.id.Name, target.state, from)
	}
	target.state = to
	if c.placed == nil {
		c.placed = make(map[string]State)
	}
	c.placed[target.id.Device] = to
	c.emit(Event{Kind: EventMoved, Member: target.id, From: from, To: to, By: by.id.Name})
	c.syncLocked(target)
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
	if err := role.Check(by.id.Roles, action); err != nil {
		return nil, nil, denied{err}
	}
	target = c.find(targetID)
	if target == nil || target == by {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoRecipient, targetID)
	}
	if target.id.Side != by.id.Side {
		return nil, nil, fmt.Errorf("%w: %s is of the other side", ErrForbidden, target.id.Name)
	}
	return by, target, nil
}
