package booking

import (
	"context"
	"errors"
	"time"

	"hotline/internal/api"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/store"
)

// idAttempts bounds the retries when a fresh call id is taken (with 60
// random bits, a second attempt is already a curiosity).
const idAttempts = 3

// Request makes a call that by requests: the time is read in by's side's
// zone unless it names one, the participants are by's side's. It returns
// the stored call and, when the wall time happened twice (a clock change),
// a note saying which instant was taken.
func (s *Service) Request(ctx context.Context, by Caller, req api.Request) (Call, string, error) {
	if err := checkLine(by, req.Line); err != nil {
		return Call{}, "", err
	}
	if err := role.Check(by.Roles, role.RequestCall); err != nil {
		return Call{}, "", classify(ErrForbidden, "%s of %s: %w", by.Name, by.Side, err)
	}
	l, err := s.line(ctx, req.Line)
	if err != nil {
		return Call{}, "", err
	}
	side, ok := l.Side(by.Side)
	if !ok {
		return Call{}, "", classify(ErrForbidden, "side %s is not on line %s", by.Side, l.Name)
	}
	now := s.clock()
	w, err := schedule.ParseWhenNote(req.When, side.Zone, now)
	if err != nil {
		return Call{}, "", kindOf(err)
	}
	for range idAttempts {
		sc := schedule.Request{
			ID: NewID(), Line: l, Kind: req.Kind,
			// Whole seconds: "now" carries the clock's fraction, which
			// nobody scheduled.
			Start:            w.At.Truncate(time.Second),
			ExpectedDuration: req.Duration, PublicOpening: req.PublicOpening, Agenda: req.Agenda,
		}
		c, err := schedule.NewCall(sc, by.actor(), now)
		if err != nil {
			return Call{}, "", kindOf(err)
		}
		call := Call{Call: c, Participants: participants(by.Side, req.Named), Languages: req.Languages, Version: 1}
		err = s.store.AddCall(ctx, toStore(call))
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return Call{}, "", err
		}
		return call, w.Note, nil
	}
	return Call{}, "", errors.New("booking: no free call id after several attempts")
}

func participants(side string, named []api.Person) []Participant {
	var out []Participant
	for _, n := range named {
		out = append(out, Participant{Side: side, Name: n.Name, Roles: n.Roles, Interprets: n.Interprets})
	}
	return out
}

// Transition makes ev (accept, decline, cancel, start or end) on call id
// for by. A non-zero in.Version must be the call's current version; only an
// accept may name participants, the accepting side's, none already named.
func (s *Service) Transition(ctx context.Context, by Caller, id string, ev schedule.Event, in api.Transition) (Call, error) {
	if ev == schedule.EventRequest {
		return Call{}, classify(ErrInvalid, "a call is requested with POST /api/calls")
	}
	if len(in.Named) > 0 && ev != schedule.EventAccept {
		return Call{}, classify(ErrInvalid, "only an accept may name participants")
	}
	c, err := s.forCaller(ctx, by, id, role.ViewSchedule)
	if err != nil {
		return Call{}, err
	}
	if in.Version != 0 && in.Version != c.Version {
		return Call{}, classify(ErrConflict, "call %s is at version %d, not %d: it changed since you read it", id, c.Version, in.Version)
	}
	return s.apply(ctx, c, ev, by.actor(), participants(by.Side, in.Named))
}

// apply makes the transition on c and writes it with the participants it
// names, or nothing.
func (s *Service) apply(ctx context.Context, c Call, ev schedule.Event, by schedule.Actor, named []Participant) (Call, error) {
	for _, p := range named {
		if err := api.InterpretsWithin([]api.Person{{Name: p.Name, Interprets: p.Interprets}}, c.Languages); err != nil {
			return Call{}, classify(ErrInvalid, "%v", err)
		}
	}
	if len(c.Named(by.Side))+len(named) > api.MaxNamed {
		return Call{}, classify(ErrInvalid, "side %s would name %d participants, at most %d", by.Side, len(c.Named(by.Side))+len(named), api.MaxNamed)
	}
	for _, p := range named {
		for _, q := range c.Named(by.Side) {
			if q.Name == p.Name {
				return Call{}, classify(ErrInvalid, "%s is already named on call %s", p.Name, c.ID)
			}
		}
	}
	rec, err := c.Apply(ev, by, s.clock())
	if err != nil {
		return Call{}, kindOf(err)
	}
	u := store.CallUpdate{Transition: storeTransition(rec), ActualStart: c.ActualStart, ActualEnd: c.ActualEnd, Participants: storeParticipants(named)}
	v, err := s.store.UpdateCall(ctx, c.ID, c.Version, u)
	if err != nil {
		return Call{}, kindOf(err)
	}
	c.Version = v
	c.Participants = append(c.Participants, named...)
	return c, nil
}

// SystemName is the name on transitions that the server makes itself.
const SystemName = "hotline"

// systemRoles are the roles the server acts with: its side's operator's,
// which may start and end calls.
var systemRoles = []role.Role{role.Operator}

// System makes start or end on call id for the live server, not for a
// person: start when the first participant is in an accepted call, end
// when the live call closes or is ended. side is the side of the participant whose join
// or hang-up it follows; the transition names that side and SystemName.
//
// It is idempotent, since joins and hang-ups race: start on a live call
// and end on an ended call return the call unchanged. A concurrent write is
// retried on the call as re-read.
func (s *Service) System(ctx context.Context, id string, ev schedule.Event, side string) (Call, error) {
	if ev != schedule.EventStart && ev != schedule.EventEnd {
		return Call{}, classify(ErrInvalid, "the server itself only starts and ends calls, not %q", ev)
	}
	by := schedule.Actor{Side: side, Name: SystemName, Roles: systemRoles}
	for {
		c, err := s.Call(ctx, id)
		if err != nil {
			return Call{}, err
		}
		if ev == schedule.EventStart && c.State == schedule.StateLive || ev == schedule.EventEnd && c.State == schedule.StateEnded {
			return c, nil
		}
		c, err = s.apply(ctx, c, ev, by, nil)
		if !errors.Is(err, store.ErrConflict) || ctx.Err() != nil {
			return c, err
		}
	}
}

// Upcoming states: what GET /api/calls lists.
var upcoming = []string{string(schedule.StateRequested), string(schedule.StateAccepted), string(schedule.StateLive)}

// Past states: what GET /api/history lists.
var past = []string{string(schedule.StateEnded), string(schedule.StateDeclined), string(schedule.StateCancelled)}

// MaxListed bounds the calls one list or history answer holds.
const MaxListed = 200

// List returns the line and its requested, accepted and live calls,
// soonest first, for a caller allowed to view the schedule.
func (s *Service) List(ctx context.Context, by Caller, line string) (schedule.Line, []Call, error) {
	return s.list(ctx, by, line, role.ViewSchedule, store.CallQuery{Line: line, States: upcoming, Limit: MaxListed})
}

func (s *Service) list(ctx context.Context, by Caller, line string, a role.Action, q store.CallQuery) (schedule.Line, []Call, error) {
	if err := checkLine(by, line); err != nil {
		return schedule.Line{}, nil, err
	}
	if err := role.Check(by.Roles, a); err != nil {
		return schedule.Line{}, nil, classify(ErrForbidden, "%s of %s: %w", by.Name, by.Side, err)
	}
	l, err := s.line(ctx, line)
	if err != nil {
		return schedule.Line{}, nil, err
	}
	scs, err := s.store.Calls(ctx, q)
	if err != nil {
		return schedule.Line{}, nil, err
	}
	out := make([]Call, 0, len(scs))
	for _, sc := range scs {
		c, err := fromStore(sc, l)
		if err != nil {
			return schedule.Line{}, nil, err
		}
		out = append(out, c)
	}
	return l, out, nil
}

// Past is a call in the history, with who joined it live.
type Past struct {
	Call
	Attendance []store.Attendance
}

// MaxAttendance bounds the attendance rows listed per past call.
const MaxAttendance = 100

// History returns the line and its ended, declined and cancelled calls, latest
// scheduled first, each with the attendance of the live call (who took
// part, from when to when), for a caller allowed to view the history.
func (s *Service) History(ctx context.Context, by Caller, line string) (schedule.Line, []Past, error) {
	l, cs, err := s.list(ctx, by, line, role.ViewHistory, store.CallQuery{Line: line, States: past, Newest: true, Limit: MaxListed})
	if err != nil {
		return l, nil, err
	}
	out := make([]Past, 0, len(cs))
	for _, c := range cs {
		p := Past{Call: c}
		if c.State == schedule.StateEnded {
			if p.Attendance, err = s.store.Attendance(ctx, LiveName(c.Line.Name, c.ID), MaxAttendance); err != nil {
				return l, nil, err
			}
		}
		out = append(out, p)
	}
	return l, out, nil
}

// LiveName is the name under which the live server registers and records
// the call (internal/call's registry key, the attendance table): "<line>/<id>".
func LiveName(line, id string) string { return line + "/" + id }
