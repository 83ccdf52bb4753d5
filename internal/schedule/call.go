package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds on what a request may carry. They keep a call's stored row, its API
// answer and its .ics small, and catch typos ("in 200h").
const (
	MaxAgendaItems     = 20
	MaxAgendaItemBytes = 200
	MinDuration        = time.Minute
	MaxDuration        = 12 * time.Hour
	MaxAhead           = 2 * 365 * 24 * time.Hour // how far ahead a call may be scheduled
	// Grace lets a time in the current minute count as "now": "at 18:00"
	// typed at 18:00:30 means this call, not tomorrow's.
	Grace = time.Minute
)

// ErrInvalid: a call, side, line or actor whose fields break a rule below.
var ErrInvalid = errors.New("invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Kind is what a call carries.
type Kind string

const (
	Video Kind = "video" // cameras and microphones
	Phone Kind = "phone" // voice only, end to end
)

// ParseKind returns the kind named s.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Video, Phone:
		return k, nil
	}
	return "", invalid("kind %q: want %q or %q", s, Video, Phone)
}

// Side is one party to a line (a government, a company, a crisis team).
type Side struct {
	// Name is the side's name as in credentials (docs/PROTOCOL.md: 1–32
	// bytes of a–z 0–9 -).
	Name string
	// Zone is where the side keeps its clocks; an IANA zone (LoadZone).
	Zone *time.Location
}

// Validate checks the side's name and zone.
func (s Side) Validate() error {
	if err := checkSideName(s.Name); err != nil {
		return err
	}
	if s.Zone == nil {
		return invalid("side %q has no time zone", s.Name)
	}
	// time.Local names the host's zone, which differs between the two
	// sides' servers; a side's zone must mean the same everywhere.
	if s.Zone == time.Local || s.Zone.String() == "Local" {
		return invalid("side %q: the host's Local zone is not portable, name an IANA zone", s.Name)
	}
	return nil
}

func checkSideName(name string) error {
	if len(name) < 1 || len(name) > 32 {
		return invalid("side name %q: want 1–32 bytes", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return invalid("side name %q: only a–z, 0–9 and - allowed", name)
		}
	}
	return nil
}

// Line is the standing connection between two sides.
type Line struct {
	Name string // docs/PROTOCOL.md identifier: 1–64 bytes of A–Z a–z 0–9 . - _
	A, B Side
}

// Validate checks the line and both sides.
func (l Line) Validate() error {
	if err := checkIdent("line name", l.Name); err != nil {
		return err
	}
	if err := l.A.Validate(); err != nil {
		return fmt.Errorf("line %s: %w", l.Name, err)
	}
	if err := l.B.Validate(); err != nil {
		return fmt.Errorf("line %s: %w", l.Name, err)
	}
	if l.A.Name == l.B.Name {
		return invalid("line %s: both sides are named %q", l.Name, l.A.Name)
	}
	return nil
}

// Side returns the side of the line named name.
func (l Line) Side(name string) (Side, bool) {
	switch name {
	case l.A.Name:
		return l.A, true
	case l.B.Name:
		return l.B, true
	}
	return Side{}, false
}

// Other returns the side of the line that is not name. ok is false when
// name is not on the line.
func (l Line) Other(name string) (Side, bool) {
	switch name {
	case l.A.Name:
		return l.B, true
	case l.B.Name:
		return l.A, true
	}
	return Side{}, false
}

func checkIdent(what, s string) error {
	if len(s) < 1 || len(s) > 64 {
		return invalid("%s %q: want 1–64 bytes", what, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return invalid("%s %q: only A–Z a–z 0–9 . - _ allowed", what, s)
		}
	}
	return nil
}

// checkDisplayName follows docs/PROTOCOL.md: 1–64 printable characters, no
// leading or trailing space.
func checkDisplayName(s string) error {
	n := utf8.RuneCountInString(s)
	if n < 1 || n > 64 || !utf8.ValidString(s) {
		return invalid("name %q: want 1–64 characters of valid UTF-8", s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return invalid("name %q: unprintable character %U", s, r)
		}
	}
	if strings.TrimSpace(s) != s {
		return invalid("name %q: leading or trailing space", s)
	}
	return nil
}

// Request is what the requesting side proposes.
type Request struct {
	ID               string // call identifier, unique on the line (docs/PROTOCOL.md call name)
	Line             Line
	Kind             Kind
	Start            time.Time
	ExpectedDuration time.Duration
	PublicOpening    time.Duration // the press's opening segment, whole minutes within the call; 0: none
	Agenda           []string
}

// Call is a call on a line, from request to its end. Create one with
// NewCall and change it only with Apply, so that State, the actual times
// and History agree; Validate checks a Call read back from storage.
type Call struct {
	ID               string
	Line             Line
	Kind             Kind
	InitiatingSide   string // the name of Line.A or Line.B
	State            State
	ScheduledStart   time.Time
	ExpectedDuration time.Duration
	PublicOpening    time.Duration // as in Request
	Agenda           []string
	ActualStart      time.Time // when it went live; zero before
	ActualEnd        time.Time // when it ended; zero before
	History          []TransitionRecord
}

// Duration is how long the call was held: ActualEnd − ActualStart once
// ended, now − ActualStart while live, zero otherwise.
func (c Call) Duration(now time.Time) time.Duration {
	switch c.State {
	case StateEnded:
		return c.ActualEnd.Sub(c.ActualStart)
	case StateLive:
		if d := now.Sub(c.ActualStart); d > 0 {
			return d
		}
	}
	return 0
}

// ScheduledEnd is the end of the requested slot.
func (c Call) ScheduledEnd() time.Time { return c.ScheduledStart.Add(c.ExpectedDuration) }

// NewCall makes the call that by requests at time at: state requested, by's
// side initiating, the request as the first history record.
func NewCall(req Request, by Actor, at time.Time) (Call, error) {
	c := Call{
		ID:               req.ID,
		Line:             req.Line,
		Kind:             req.Kind,
		ScheduledStart:   req.Start,
		ExpectedDuration: req.ExpectedDuration,
		PublicOpening:    req.PublicOpening,
		Agenda:           append([]string(nil), req.Agenda...),
	}
	if err := c.validateFields(); err != nil {
		return Call{}, err
	}
	if at.IsZero() {
		return Call{}, invalid("request time is zero")
	}
	if at.Sub(req.Start) >= Grace {
		return Call{}, fmt.Errorf("%w: the call would start at %s, before the request at %s",
			ErrPast, req.Start.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	if req.Start.Sub(at) > MaxAhead {
		return Call{}, fmt.Errorf("%w: %s is more than %s ahead", ErrTooFar, req.Start.UTC().Format(time.RFC3339), MaxAhead)
	}
	if _, err := c.Apply(EventRequest, by, at); err != nil {
		return Call{}, err
	}
	return c, nil
}

// validateFields checks everything but State, the actual times and History.
func (c Call) validateFields() error {
	if err := checkIdent("call id", c.ID); err != nil {
		return err
	}
	if err := c.Line.Validate(); err != nil {
		return err
	}
	if _, err := ParseKind(string(c.Kind)); err != nil {
		return err
	}
	if c.ScheduledStart.IsZero() {
		return invalid("call %s has no scheduled start", c.ID)
	}
	// RFC 5545 §3.3.5 writes years with four digits; anything outside this
	// range is a mistake, not a call.
	if y := c.ScheduledStart.UTC().Year(); y < 2000 || y > 9998 {
		return invalid("call %s: scheduled start in year %d", c.ID, y)
	}
	d := c.ExpectedDuration
	if d < MinDuration || d > MaxDuration || d%time.Minute != 0 {
		return invalid("call %s: expected duration %s: want whole minutes from %s to %s", c.ID, d, MinDuration, MaxDuration)
	}
	if p := c.PublicOpening; p < 0 || p > d || p%time.Minute != 0 {
		return invalid("call %s: public opening %s: want whole minutes within the call's %s", c.ID, p, d)
	}
	if len(c.Agenda) > MaxAgendaItems {
		return invalid("call %s: %d agenda items, at most %d", c.ID, len(c.Agenda), MaxAgendaItems)
	}
	for i, item := range c.Agenda {
		if err := checkAgendaItem(item); err != nil {
			return fmt.Errorf("call %s: agenda item %d: %w", c.ID, i+1, err)
		}
	}
	return nil
}

// checkAgendaItem: one line of printable text. Line breaks are refused
// because the agenda is a list — each item is one line of the description.
func checkAgendaItem(s string) error {
	if s == "" || len(s) > MaxAgendaItemBytes {
		return invalid("want 1–%d bytes, have %d", MaxAgendaItemBytes, len(s))
	}
	if !utf8.ValidString(s) {
		return invalid("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalid("control character %U (one line per item)", r)
		}
	}
	if strings.TrimSpace(s) != s {
		return invalid("leading or trailing space")
	}
	return nil
}

// Validate checks a call read back from storage: its fields, and that its
// history replays through the state machine to its State and actual times.
func (c Call) Validate() error {
	if err := c.validateFields(); err != nil {
		return err
	}
	if len(c.History) == 0 {
		return invalid("call %s has no history", c.ID)
	}
	replay := c
	replay.State, replay.InitiatingSide = StateNone, ""
	replay.ActualStart, replay.ActualEnd = time.Time{}, time.Time{}
	replay.History = nil
	for i, h := range c.History {
		if h.From != replay.State {
			return invalid("call %s: history record %d is from %s, the call was %s", c.ID, i+1, h.From, replay.State)
		}
		// Roles are not stored in the record: they were checked when the
		// transition was made, so the replay grants them.
		by := Actor{Side: h.BySide, Name: h.ByName, Roles: replayRoles}
		rec, err := replay.Apply(h.Event, by, h.At)
		if err != nil {
			return fmt.Errorf("call %s: history record %d: %w", c.ID, i+1, err)
		}
		if rec.To != h.To {
			return invalid("call %s: history record %d goes to %s, the machine to %s", c.ID, i+1, h.To, rec.To)
		}
	}
	if replay.State != c.State || replay.InitiatingSide != c.InitiatingSide ||
		!replay.ActualStart.Equal(c.ActualStart) || !replay.ActualEnd.Equal(c.ActualEnd) {
		return invalid("call %s: state %s (initiator %q, start %v, end %v) does not match its history (%s, %q, %v, %v)",
			c.ID, c.State, c.InitiatingSide, c.ActualStart, c.ActualEnd,
			replay.State, replay.InitiatingSide, replay.ActualStart, replay.ActualEnd)
	}
	return nil
}
