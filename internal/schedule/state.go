package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"hotline/internal/role"
)

// State is where a call is in its life; its string is the stored and wire form.
type State string

const (
	StateNone      State = "" // before the request: only History[0].From
	StateRequested State = "requested"
	StateAccepted  State = "accepted"
	StateDeclined  State = "declined"
	StateLive      State = "live"
	StateEnded     State = "ended"
	StateCancelled State = "cancelled"
)

// States lists every state a call can be in, in life order.
var States = []State{StateRequested, StateAccepted, StateDeclined, StateLive, StateEnded, StateCancelled}

// ParseState returns the state named s (not StateNone).
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("%w: state %q", ErrInvalid, s)
}

// Final reports whether no event leads out of s.
func (s State) Final() bool {
	return s == StateDeclined || s == StateEnded || s == StateCancelled
}

func (s State) String() string {
	if s == StateNone {
		return "not yet requested"
	}
	return string(s)
}

// Event moves a call from one state to the next.
type Event string

const (
	EventRequest Event = "request"
	EventAccept  Event = "accept"
	EventDecline Event = "decline"
	EventCancel  Event = "cancel"
	EventStart   Event = "start"
	EventEnd     Event = "end"
)

// Events lists every event.
var Events = []Event{EventRequest, EventAccept, EventDecline, EventCancel, EventStart, EventEnd}

// ParseEvent returns the event named s.
func ParseEvent(s string) (Event, error) {
	for _, e := range Events {
		if string(e) == s {
			return e, nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownEvent, s)
}

// Errors of the state machine. Each is returned wrapped, with the call's
// state, the actor and the rule that refused it.
var (
	ErrUnknownEvent = errors.New("unknown event")
	ErrIllegal      = errors.New("illegal transition")
	ErrNotOnLine    = errors.New("side is not on the line")
	ErrWrongSide    = errors.New("wrong side")
	ErrClock        = errors.New("transition earlier than the previous one")
	ErrExpired      = errors.New("the requested slot is over")
	ErrPast         = errors.New("time is in the past")
	ErrTooFar       = errors.New("time is too far ahead")
)

// edges is the state machine: from → event → to. Anything absent is illegal.
var edges = map[State]map[Event]State{
	StateNone:      {EventRequest: StateRequested},
	StateRequested: {EventAccept: StateAccepted, EventDecline: StateDeclined, EventCancel: StateCancelled},
	StateAccepted:  {EventStart: StateLive, EventCancel: StateCancelled},
	StateLive:      {EventEnd: StateEnded},
}

// actions maps each event to the permission it needs (internal/role).
var actions = map[Event]role.Action{
	EventRequest: role.RequestCall,
	EventAccept:  role.AcceptCall,
	EventDecline: role.DeclineCall,
	EventCancel:  role.CancelCall,
	EventStart:   role.StartCall,
	EventEnd:     role.EndCall,
}

// replayRoles stands in for the roles of a stored record's actor when
// Validate replays a history (records keep side and name, not roles).
var replayRoles = []role.Role{role.Principal}

// Next is the bare state machine: the state ev leads to from from, or
// ErrIllegal (ErrUnknownEvent for an event it does not know).
func Next(from State, ev Event) (State, error) {
	if _, ok := actions[ev]; !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownEvent, ev)
	}
	to, ok := edges[from][ev]
	if !ok {
		return "", fmt.Errorf("%w: cannot %s a call that is %s%s", ErrIllegal, ev, from, legalHint(from))
	}
	return to, nil
}

func legalHint(from State) string {
	var legal []string
	for _, e := range Events {
		if _, ok := edges[from][e]; ok {
			legal = append(legal, string(e))
		}
	}
	if len(legal) == 0 {
		return " (it is over)"
	}
	return " (it can be: " + strings.Join(legal, ", ") + ")"
}

// Actor is who makes a transition: a person of one side, with the roles of
// their credential.
type Actor struct {
	Side  string // side name, one of the line's two
	Name  string // display name
	Roles []role.Role
}

// TransitionRecord is one entry of a call's history.
type TransitionRecord struct {
	From, To State
	Event    Event
	BySide   string
	ByName   string
	At       time.Time
}

// Apply makes the transition ev by by at time at: it checks the machine, the
// actor's side and roles and the time, then updates State, InitiatingSide,
// ActualStart/End and History and returns the new record. On error the call
// is unchanged.
func (c *Call) Apply(ev Event, by Actor, at time.Time) (TransitionRecord, error) {
	to, err := Next(c.State, ev)
	if err != nil {
		return TransitionRecord{}, fmt.Errorf("call %s: %w", c.ID, err)
	}
	if err := checkDisplayName(by.Name); err != nil {
		return TransitionRecord{}, fmt.Errorf("call %s: %s by %q: %w", c.ID, ev, by.Name, err)
	}
	if _, ok := c.Line.Side(by.Side); !ok {
		return TransitionRecord{}, fmt.Errorf("call %s: %w: %s (of side %q) is not on line %s between %s and %s",
			c.ID, ErrNotOnLine, by.Name, by.Side, c.Line.Name, c.Line.A.Name, c.Line.B.Name)
	}
	if err := role.Check(by.Roles, actions[ev]); err != nil {
		return TransitionRecord{}, fmt.Errorf("call %s: %s of %s: %w", c.ID, by.Name, by.Side, err)
	}
	if err := c.checkSide(ev, by); err != nil {
		return TransitionRecord{}, fmt.Errorf("call %s: %w", c.ID, err)
	}
	if at.IsZero() {
		return TransitionRecord{}, fmt.Errorf("call %s: %w: %s has no time", c.ID, ErrInvalid, ev)
	}
	if n := len(c.History); n > 0 && at.Before(c.History[n-1].At) {
		return TransitionRecord{}, fmt.Errorf("call %s: %w: %s at %s, but it was %s at %s", c.ID, ErrClock,
			ev, at.UTC().Format(time.RFC3339Nano), c.State, c.History[n-1].At.UTC().Format(time.RFC3339Nano))
	}
	if ev == EventAccept && !at.Before(c.ScheduledEnd()) {
		return TransitionRecord{}, fmt.Errorf("call %s: %w: it was requested for %s to %s UTC",
			c.ID, ErrExpired, c.ScheduledStart.UTC().Format("2006-01-02 15:04"), c.ScheduledEnd().UTC().Format("15:04"))
	}

	rec := TransitionRecord{From: c.State, To: to, Event: ev, BySide: by.Side, ByName: by.Name, At: at}
	switch ev {
	case EventRequest:
		c.InitiatingSide = by.Side
	case EventStart:
		c.ActualStart = at
	case EventEnd:
		c.ActualEnd = at
	}
	c.State = to
	c.History = append(c.History, rec)
	return rec, nil
}

// checkSide applies the side rules of the package documentation.
func (c *Call) checkSide(ev Event, by Actor) error {
	mine := by.Side == c.InitiatingSide
	switch {
	case (ev == EventAccept || ev == EventDecline) && mine:
		return fmt.Errorf("%w: only the other side may %s a request; %s requested this call", ErrWrongSide, ev, c.InitiatingSide)
	case ev == EventCancel && c.State == StateRequested && !mine:
		return fmt.Errorf("%w: only %s, who requested the call, may cancel the request; %s declines it instead", ErrWrongSide, c.InitiatingSide, by.Side)
	}
	return nil
}
