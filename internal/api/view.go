package api

import (
	"encoding/json"
	"time"

	"hotline/internal/schedule"
)

// The answers about booked calls (docs/API.md, "The call object"). Every
// instant is a Time: UTC for programs, each side's wall clock for people.

// Time is an instant in UTC and in both sides' zones.
type Time struct {
	UTC   string      `json:"utc"`   // RFC 3339, UTC, whole seconds: 2026-11-21T15:00:00Z
	Text  string      `json:"text"`  // both sides' times for people (schedule.Describe)
	Local []LocalTime `json:"local"` // one per side, in the line's order
}

// LocalTime is an instant on one side's clocks.
type LocalTime struct {
	Side   string `json:"side"`
	Zone   string `json:"zone"`   // IANA zone name
	Time   string `json:"time"`   // wall clock, 2026-11-21T18:00:00
	Offset string `json:"offset"` // from UTC, +03:00
	Abbrev string `json:"abbrev"` // the zone's abbreviation at that instant, MSK
}

// NewTime shows t in UTC and in both sides' zones of l.
func NewTime(t time.Time, l schedule.Line) Time {
	tj := Time{UTC: t.UTC().Format(time.RFC3339), Text: schedule.Describe(t, l.A.Zone, l.B.Zone)}
	for _, s := range []schedule.Side{l.A, l.B} {
		lt := t.In(s.Zone)
		abbrev, _ := lt.Zone()
		tj.Local = append(tj.Local, LocalTime{Side: s.Name, Zone: s.Zone.String(), Time: lt.Format("2006-01-02T15:04:05"), Offset: lt.Format("-07:00"), Abbrev: abbrev})
	}
	return tj
}

// NewTimePtr is NewTime, or nil for the zero time (an instant that has not
// happened: a booked call's actual start before it went live).
func NewTimePtr(t time.Time, l schedule.Line) *Time {
	if t.IsZero() {
		return nil
	}
	tj := NewTime(t, l)
	return &tj
}

// Side is one side of a line and its zone.
type Side struct {
	Name string `json:"name"`
	Zone string `json:"zone"`
}

// Line is a line and its two sides.
type Line struct {
	Name  string `json:"name"`
	Sides []Side `json:"sides"`
}

// NewLine shows a line.
func NewLine(l schedule.Line) Line {
	return Line{Name: l.Name, Sides: []Side{{l.A.Name, l.A.Zone.String()}, {l.B.Name, l.B.Zone.String()}}}
}

// TransitionRecord is one step of a booked call's history: who moved it
// from one state to the next, and when.
type TransitionRecord struct {
	From  string `json:"from"` // "" for the request
	To    string `json:"to"`
	Event string `json:"event"`
	Side  string `json:"side"`
	Name  string `json:"name"`
	At    Time   `json:"at"`
}

// Attendance is one stay in the live call of a booked call (a row of the
// attendance table): who took part, from when to when. Left is absent
// while the participant is still in the call.
type Attendance struct {
	Name   string `json:"name"`
	Joined Time   `json:"joined"`
	Left   *Time  `json:"left,omitempty"`
}

// Call is a booked call as the API shows it.
type Call struct {
	ID              string `json:"id"`
	Line            Line   `json:"line"`
	Kind            string `json:"kind"`
	State           string `json:"state"`
	InitiatingSide  string `json:"initiating_side"`
	ScheduledStart  Time   `json:"scheduled_start"`
	ScheduledEnd    Time   `json:"scheduled_end"`
	DurationMinutes int64  `json:"duration_minutes"`
	// PublicOpeningMinutes: the public opening booked for the press; 0: none.
	PublicOpeningMinutes int64                    `json:"public_opening_minutes"`
	Agenda               []string                 `json:"agenda"`
	Languages            []string                 `json:"languages"`    // interpretation languages; [] for none
	Participants         map[string][]Participant `json:"participants"` // by side; both sides present
	ActualStart          *Time                    `json:"actual_start,omitempty"`
	ActualEnd            *Time                    `json:"actual_end,omitempty"`
	// ActualSeconds is how long the booked call was held (ended) or has
	// been so far (live); absent before.
	ActualSeconds *int64             `json:"actual_duration_seconds,omitempty"`
	Transitions   []TransitionRecord `json:"transitions"`
	Version       int64              `json:"version"`
	ICS           string             `json:"ics"` // path of the iCalendar export
	// Note (only in the answer to a request) says which instant was taken
	// for a wall time that happens twice.
	Note string `json:"note,omitempty"`
	// Sessions (only in the history): who joined the live call.
	Sessions []Attendance `json:"sessions,omitempty"`
	// Readiness (upcoming and live calls, on a server taking probe
	// results): the go/no-go from the test calls of the hour before it.
	Readiness *Readiness `json:"readiness,omitempty"`
}

// CallList answers GET /api/calls and GET /api/history: the line and its
// booked calls.
type CallList struct {
	Line  Line   `json:"line"`
	Calls []Call `json:"calls"`
}

// RecordAppended answers a statement appended to the call record: its entry's seq.
type RecordAppended struct {
	Seq uint64 `json:"seq"`
}

// Readout is a side's signed readout of a booked call, as
// GET /api/lines/{line}/readouts lists it (docs/API.md, "Readouts").
// Signed is the readout as its side signed it: `hotline readout verify`
// checks it against the pins, trusting none of the other fields.
type Readout struct {
	ID        string          `json:"id"`
	Call      string          `json:"call"`
	Side      string          `json:"side"`
	Name      string          `json:"name"`
	Published int64           `json:"published"`
	Corrects  string          `json:"corrects,omitempty"`
	Text      string          `json:"text"`
	Seq       uint64          `json:"seq"`
	Signed    json.RawMessage `json:"signed"`
}

// ReadoutList answers GET /api/lines/{line}/readouts, oldest first.
type ReadoutList struct {
	Line     string    `json:"line"`
	Readouts []Readout `json:"readouts"`
}

// ReadoutPublished answers a readout published.
type ReadoutPublished struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
}
