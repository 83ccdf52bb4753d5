package api

import (
	"bytes"
	"slices"
	"time"

	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/trust"
)

// Bounds of the booked call's request bodies (docs/API.md).
const (
	// MaxNamed bounds the participants one side names on a booked call,
	// the default number of participants of a live call.
	MaxNamed = 16
	// MaxRoles bounds the roles of one named participant (there are 7).
	MaxRoles = 7
)

// Participant is someone a side names on a booked call, in a request, an
// accept, or the call's participants.
type Participant struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	// Interprets: the languages an interpreter (a participant with the
	// interpreter role) may serve, BCP 47 tags; absent or empty: any of
	// the call's languages.
	Interprets []string `json:"interprets,omitempty"`
}

// RequestBody is the body of POST /api/calls: a request for a booked call.
type RequestBody struct {
	Line            string `json:"line"`
	Kind            string `json:"kind"`
	When            string `json:"when"`
	DurationMinutes int64  `json:"duration_minutes"`
	// PublicOpeningMinutes books a public opening for the press at the
	// start of the call (docs/PROTOCOL.md, "Segments"); 0 or absent: none.
	PublicOpeningMinutes int64         `json:"public_opening_minutes,omitempty"`
	Agenda               []string      `json:"agenda"`
	Participants         []Participant `json:"participants"`
	// Languages: the call's interpretation languages (BCP 47 tags, at
	// most protocol.MaxLanguages); absent or empty: none.
	Languages []string `json:"languages,omitempty"`
}

// TransitionBody is the body of POST /api/calls/{id}/{event}, all fields
// optional: Version makes the transition conditional on the version of the
// booked call the caller read; Participants (accept only) names the
// accepting side's people.
type TransitionBody struct {
	Version      int64         `json:"version"`
	Participants []Participant `json:"participants"`
}

// Request is a parsed RequestBody. When is read only once the caller's
// zone is known (internal/booking).
type Request struct {
	Line     string
	Kind     schedule.Kind
	When     string
	Duration time.Duration
	// PublicOpening: the booked public opening; 0: none.
	PublicOpening time.Duration
	Agenda        []string
	Named         []Person
	Languages     []string
}

// Person is a participant as named in a body: the side is the caller's.
type Person struct {
	Name       string
	Roles      []role.Role
	Interprets []string // an interpreter's languages; empty: any
}

// Transition is a parsed TransitionBody.
type Transition struct {
	Version int64
	Named   []Person
}

// ParseRequest decodes and checks a POST /api/calls body: the line a call
// name, the kind video or phone, when present (its grammar is checked
// against the caller's zone later), the duration whole minutes within
// schedule's bounds, at most schedule.MaxAgendaItems agenda items (each is
// checked by schedule.NewCall), and the participants (parseNamed).
func ParseRequest(data []byte) (Request, error) {
	var b RequestBody
	if err := Decode(data, &b); err != nil {
		return Request{}, err
	}
	if err := protocol.ValidID("line", b.Line); err != nil {
		return Request{}, invalid("%v", err)
	}
	kind, err := schedule.ParseKind(b.Kind)
	if err != nil {
		return Request{}, refusal{err}
	}
	if b.When == "" || len(b.When) > schedule.MaxWhenLen {
		return Request{}, invalid(`when: want 1–%d bytes, e.g. "now" or "at 18:00 Europe/Moscow"`, schedule.MaxWhenLen)
	}
	minMin, maxMin := int64(schedule.MinDuration/time.Minute), int64(schedule.MaxDuration/time.Minute)
	if b.DurationMinutes < minMin || b.DurationMinutes > maxMin {
		return Request{}, invalid("duration_minutes %d: want %d to %d", b.DurationMinutes, minMin, maxMin)
	}
	if len(b.Agenda) > schedule.MaxAgendaItems {
		return Request{}, invalid("%d agenda items, at most %d", len(b.Agenda), schedule.MaxAgendaItems)
	}
	named, err := parseNamed(b.Participants)
	if err != nil {
		return Request{}, err
	}
	if b.PublicOpeningMinutes < 0 || b.PublicOpeningMinutes > b.DurationMinutes {
		return Request{}, invalid("public_opening_minutes %d: want 0 to the call's %d", b.PublicOpeningMinutes, b.DurationMinutes)
	}
	if err := protocol.ValidLanguages(b.Languages); err != nil {
		return Request{}, invalid("languages: %v", err)
	}
	if err := InterpretsWithin(named, b.Languages); err != nil {
		return Request{}, err
	}
	return Request{Line: b.Line, Kind: kind, When: b.When, Duration: time.Duration(b.DurationMinutes) * time.Minute,
		PublicOpening: time.Duration(b.PublicOpeningMinutes) * time.Minute, Agenda: b.Agenda, Named: named, Languages: b.Languages}, nil
}

// ParseTransition decodes and checks a transition body; an empty body is
// an empty TransitionBody.
func ParseTransition(data []byte) (Transition, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Transition{}, nil
	}
	var b TransitionBody
	if err := Decode(data, &b); err != nil {
		return Transition{}, err
	}
	if b.Version < 0 {
		return Transition{}, invalid("version %d is negative", b.Version)
	}
	named, err := parseNamed(b.Participants)
	if err != nil {
		return Transition{}, err
	}
	return Transition{Version: b.Version, Named: named}, nil
}

// parseNamed checks participants: at most MaxNamed, each a valid display
// name (docs/PROTOCOL.md) named once, with 1 to MaxRoles known roles, none
// twice.
func parseNamed(ps []Participant) ([]Person, error) {
	if len(ps) > MaxNamed {
		return nil, invalid("%d participants, at most %d per side", len(ps), MaxNamed)
	}
	out := make([]Person, 0, len(ps))
	for i, p := range ps {
		if err := trust.ValidDisplayName(p.Name); err != nil {
			return nil, invalid("participant %d: %v", i+1, err)
		}
		for _, q := range out {
			if q.Name == p.Name {
				return nil, invalid("participant %q is named twice", p.Name)
			}
		}
		if len(p.Roles) > MaxRoles {
			return nil, invalid("participant %q: %d roles, at most %d", p.Name, len(p.Roles), MaxRoles)
		}
		roles, err := role.ParseList(p.Roles)
		if err != nil {
			return nil, invalid("participant %q: %v", p.Name, err)
		}
		if len(p.Interprets) > 0 {
			if !slices.Contains(roles, role.Interpreter) {
				return nil, invalid("participant %q: interprets %q without the interpreter role", p.Name, p.Interprets)
			}
			if err := protocol.ValidLanguages(p.Interprets); err != nil {
				return nil, invalid("participant %q: interprets: %v", p.Name, err)
			}
		}
		out = append(out, Person{Name: p.Name, Roles: roles, Interprets: slices.Clone(p.Interprets)})
	}
	return out, nil
}

// InterpretsWithin checks that every named interpreter's languages are
// among the call's (when the call has any: an operator may add languages in
// the live call).
func InterpretsWithin(named []Person, languages []string) error {
	if len(languages) == 0 {
		return nil
	}
	for _, p := range named {
		for _, l := range p.Interprets {
			if !slices.Contains(languages, l) {
				return invalid("participant %q interprets %q, not one of the call's languages %q", p.Name, l, languages)
			}
		}
	}
	return nil
}

// Roles are roles as the API writes them.
func Roles(rs []role.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
