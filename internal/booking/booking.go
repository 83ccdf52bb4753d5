// Package booking is the call workflow on a line (issue 4, docs/API.md):
// one side requests a call, the other accepts or declines it, either may
// call it off, and it goes live and ends. Each operation loads the call from
// internal/store, checks the caller's line, side and roles, applies the
// transition with internal/schedule's state machine, and writes the new
// state and its transition record in one transaction, refusing a write
// that lost a race (optimistic locking on the call's version).
//
// It knows nothing of HTTP: internal/httpapi decodes requests with
// internal/api's ParseRequest and ParseTransition, calls the Service, shows
// its answers with Call.API, and maps the four sentinel errors below to
// statuses. The live call server uses Call, Named, Joinable and System.
package booking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hotline/internal/enrol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// The service's errors. Every error it returns wraps exactly one of them
// (and the underlying cause); internal/httpapi maps them to 400, 403, 404
// and 409.
var (
	// ErrInvalid: the input breaks a rule (a time that cannot be read or
	// is past, an unknown kind, a bad name or role, too many items).
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the caller's roles or side do not allow the action, or
	// the session is for another line.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: no such call (on the caller's line) or line.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the call's state does not allow the transition, its
	// slot is over, or it changed since the caller read it.
	ErrConflict = errors.New("conflict")
)

// classified is an error of one of the kinds above. Its message is the
// cause's alone (which already says what went wrong), while errors.Is finds
// both the kind and the cause's own sentinels.
type classified struct{ kind, cause error }

func (e classified) Error() string   { return e.cause.Error() }
func (e classified) Unwrap() []error { return []error{e.kind, e.cause} }

func classify(kind error, format string, args ...any) error {
	return classified{kind, fmt.Errorf(format, args...)}
}

// kindOf gives an error from internal/schedule or internal/store its kind.
// Errors of no known kind (a failing disk) are returned as they are: the
// HTTP layer answers 500.
func kindOf(err error) error {
	if err == nil {
		return nil
	}
	var c classified
	if errors.As(err, &c) {
		return err
	}
	kind := error(nil)
	switch {
	case errors.Is(err, role.ErrForbidden), errors.Is(err, schedule.ErrWrongSide), errors.Is(err, schedule.ErrNotOnLine):
		kind = ErrForbidden
	case errors.Is(err, schedule.ErrIllegal), errors.Is(err, schedule.ErrExpired), errors.Is(err, schedule.ErrClock),
		errors.Is(err, store.ErrConflict):
		kind = ErrConflict
	case errors.Is(err, schedule.ErrInvalid), errors.Is(err, schedule.ErrSyntax), errors.Is(err, schedule.ErrZone),
		errors.Is(err, schedule.ErrNonexistent), errors.Is(err, schedule.ErrPast), errors.Is(err, schedule.ErrTooFar),
		errors.Is(err, schedule.ErrUnknownEvent):
		kind = ErrInvalid
	case errors.Is(err, store.ErrNotFound):
		kind = ErrNotFound
	default:
		return err
	}
	return classified{kind, err}
}

// Caller is who makes a request: the identity of the credential that
// opened the API session, and the line the session is for.
type Caller struct {
	Line   string
	Side   string
	Name   string
	Device string
	Roles  []role.Role
}

func (c Caller) actor() schedule.Actor {
	return schedule.Actor{Side: c.Side, Name: c.Name, Roles: c.Roles}
}

// Participant is someone a side names on a call in advance: the principal,
// the advisers on the bench, interpreters. The live server admits them and
// lets the principal call advisers in.
type Participant struct {
	Side  string
	Name  string
	Roles []role.Role
	// Interprets: the languages an interpreter may serve (the booth it may
	// take); empty: any of the call's languages.
	Interprets []string
}

// Call is a call as stored: the schedule's call, the people named on it,
// and the version that an update must name.
type Call struct {
	schedule.Call
	Participants []Participant
	// Languages: the interpretation languages the request set; the live
	// call opens with them (internal/call).
	Languages []string
	Version   int64
}

// Named returns the participants of one side, in the order named.
func (c Call) Named(side string) []Participant {
	var out []Participant
	for _, p := range c.Participants {
		if p.Side == side {
			out = append(out, p)
		}
	}
	return out
}

// Service runs the workflow over a store.
type Service struct {
	store *store.Store
	now   func() time.Time
}

// New makes a service over st.
func New(st *store.Store) *Service { return &Service{store: st, now: time.Now} }

// clock is now in UTC to the millisecond, the precision the store keeps, so
// that a call reads back exactly as it was written.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// line loads a line with its sides' zones.
// Line returns a line with its sides' zones (ErrNotFound).
func (s *Service) Line(ctx context.Context, name string) (schedule.Line, error) {
	return s.line(ctx, name)
}

func (s *Service) line(ctx context.Context, name string) (schedule.Line, error) {
	sl, err := s.store.Line(ctx, name)
	if err != nil {
		return schedule.Line{}, kindOf(err)
	}
	l := schedule.Line{Name: sl.Name, A: schedule.Side{Name: sl.A.Name}, B: schedule.Side{Name: sl.B.Name}}
	if l.A.Zone, err = schedule.LoadZone(sl.A.TimeZone); err != nil {
		return schedule.Line{}, fmt.Errorf("booking: line %s, side %s: %w", name, sl.A.Name, err)
	}
	if l.B.Zone, err = schedule.LoadZone(sl.B.TimeZone); err != nil {
		return schedule.Line{}, fmt.Errorf("booking: line %s, side %s: %w", name, sl.B.Name, err)
	}
	return l, nil
}

// Pins are a line's two authority pins, as the server holds them, for
// verifying the credential that opens an API session.
func (s *Service) Pins(ctx context.Context, line string) ([]trust.Pin, error) {
	l, err := s.store.Line(ctx, line)
	if err != nil {
		return nil, kindOf(err)
	}
	return enrol.Pins(l), nil
}

// Call returns a call by id, without checking who asks (for the live
// server; API callers go through View).
func (s *Service) Call(ctx context.Context, id string) (Call, error) {
	sc, err := s.store.Call(ctx, id)
	if err != nil {
		return Call{}, kindOf(err)
	}
	l, err := s.line(ctx, sc.Line)
	if err != nil {
		return Call{}, err
	}
	return fromStore(sc, l)
}

// Named returns the participants that side named on the call in advance.
func (s *Service) Named(ctx context.Context, id, side string) ([]Participant, error) {
	c, err := s.Call(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.Named(side), nil
}

// Joinable returns the call if it exists on line and may be joined now:
// accepted (the first join will start it) or live. Any other state is
// ErrConflict, an unknown call ErrNotFound.
func (s *Service) Joinable(ctx context.Context, line, id string) (Call, error) {
	c, err := s.Call(ctx, id)
	if err != nil {
		return Call{}, err
	}
	if c.Line.Name != line {
		return Call{}, classify(ErrNotFound, "no call %s on line %s", id, line)
	}
	if c.State != schedule.StateAccepted && c.State != schedule.StateLive {
		return Call{}, classify(ErrConflict, "call %s is %s: only an accepted or live call can be joined", id, c.State)
	}
	return c, nil
}

// forCaller loads a call the caller may see: on the caller's line (a call
// on another line is ErrNotFound, so that ids of other lines are not
// revealed) and with a role that may view the schedule.
func (s *Service) forCaller(ctx context.Context, by Caller, id string, a role.Action) (Call, error) {
	if err := role.Check(by.Roles, a); err != nil {
		return Call{}, classify(ErrForbidden, "%s of %s: %w", by.Name, by.Side, err)
	}
	c, err := s.Call(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && c.Line.Name != by.Line {
		return Call{}, classify(ErrNotFound, "no call %q on line %s", id, by.Line)
	}
	return c, err
}

// View returns a call to a caller allowed to view the schedule.
func (s *Service) View(ctx context.Context, by Caller, id string) (Call, error) {
	return s.forCaller(ctx, by, id, role.ViewSchedule)
}

// ICS is the call's iCalendar export (RFC 5545) for a caller allowed to
// view the schedule.
func (s *Service) ICS(ctx context.Context, by Caller, id string) ([]byte, error) {
	c, err := s.View(ctx, by, id)
	if err != nil {
		return nil, err
	}
	return schedule.ICS(c.Call, s.clock()), nil
}

// checkLine refuses a caller whose session is for another line.
func checkLine(by Caller, line string) error {
	if line != by.Line {
		return classify(ErrForbidden, "this session is for line %s, not %s", by.Line, line)
	}
	return nil
}
