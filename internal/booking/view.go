package booking

import (
	"time"

	"hotline/internal/schedule"
	"hotline/internal/store"
)

// The JSON the API answers with (docs/API.md, "Call object"). Every instant
// is a TimeJSON: UTC for programs, each side's wall clock for people.

// TimeJSON is an instant in UTC and in both sides' zones.
type TimeJSON struct {
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
func NewTime(t time.Time, l schedule.Line) TimeJSON {
	tj := TimeJSON{UTC: t.UTC().Format(time.RFC3339), Text: schedule.Describe(t, l.A.Zone, l.B.Zone)}
	for _, s := range []schedule.Side{l.A, l.B} {
		lt := t.In(s.Zone)
		abbrev, _ := lt.Zone()
		tj.Local = append(tj.Local, LocalTime{Side: s.Name, Zone: s.Zone.String(), Time: lt.Format("2006-01-02T15:04:05"), Offset: lt.Format("-07:00"), Abbrev: abbrev})
	}
	return tj
}

func newTimePtr(t time.Time, l schedule.Line) *TimeJSON {
	if t.IsZero() {
		return nil
	}
	tj := NewTime(t, l)
	return &tj
}

// SideJSON is one side of a line.
type SideJSON struct {
	Name string `json:"name"`
	Zone string `json:"zone"`
}

// LineJSON is a line and its two sides.
type LineJSON struct {
	Name  string     `json:"name"`
	Sides []SideJSON `json:"sides"`
}

// NewLine shows a line.
func NewLine(l schedule.Line) LineJSON {
	return LineJSON{Name: l.Name, Sides: []SideJSON{{l.A.Name, l.A.Zone.String()}, {l.B.Name, l.B.Zone.String()}}}
}

// TransitionJSON is one step of a call's history.
type TransitionJSON struct {
	From  string   `json:"from"` // "" for the request
	To    string   `json:"to"`
	Event string   `json:"event"`
	Side  string   `json:"side"`
	Name  string   `json:"name"`
	At    TimeJSON `json:"at"`
}

// SessionJSON is one stay in the live call: who took part, when.
type SessionJSON struct {
	Name   string    `json:"name"`
	Joined TimeJSON  `json:"joined"`
	Left   *TimeJSON `json:"left,omitempty"`
}

// CallJSON is a call as the API shows it.
type CallJSON struct {
	ID              string                       `json:"id"`
	Line            LineJSON                     `json:"line"`
	Kind            string                       `json:"kind"`
	State           string                       `json:"state"`
	InitiatingSide  string                       `json:"initiating_side"`
	ScheduledStart  TimeJSON                     `json:"scheduled_start"`
	ScheduledEnd    TimeJSON                     `json:"scheduled_end"`
	DurationMinutes int64                        `json:"duration_minutes"`
	Agenda          []string                     `json:"agenda"`
	Participants    map[string][]ParticipantJSON `json:"participants"` // by side; both sides present
	ActualStart     *TimeJSON                    `json:"actual_start,omitempty"`
	ActualEnd       *TimeJSON                    `json:"actual_end,omitempty"`
	// ActualSeconds is how long the call was held (ended) or has been so
	// far (live); absent before.
	ActualSeconds *int64           `json:"actual_duration_seconds,omitempty"`
	Transitions   []TransitionJSON `json:"transitions"`
	Version       int64            `json:"version"`
	ICS           string           `json:"ics"` // path of the iCalendar export
	Note          string           `json:"note,omitempty"`
	Sessions      []SessionJSON    `json:"sessions,omitempty"` // history only
}

// NewCallJSON shows c at time now (for the duration of a live call).
func NewCallJSON(c Call, now time.Time) CallJSON {
	l := c.Line
	j := CallJSON{
		ID: c.ID, Line: NewLine(l), Kind: string(c.Kind), State: string(c.State), InitiatingSide: c.InitiatingSide,
		ScheduledStart: NewTime(c.ScheduledStart, l), ScheduledEnd: NewTime(c.ScheduledEnd(), l),
		DurationMinutes: int64(c.ExpectedDuration / time.Minute), Agenda: c.Agenda,
		Participants: map[string][]ParticipantJSON{l.A.Name: {}, l.B.Name: {}},
		ActualStart:  newTimePtr(c.ActualStart, l), ActualEnd: newTimePtr(c.ActualEnd, l),
		Version: c.Version, ICS: "/calls/" + c.ID + ".ics",
	}
	if j.Agenda == nil {
		j.Agenda = []string{}
	}
	if c.State == schedule.StateLive || c.State == schedule.StateEnded {
		secs := int64(c.Duration(now) / time.Second)
		j.ActualSeconds = &secs
	}
	for _, p := range c.Participants {
		roles := make([]string, len(p.Roles))
		for i, r := range p.Roles {
			roles[i] = string(r)
		}
		j.Participants[p.Side] = append(j.Participants[p.Side], ParticipantJSON{Name: p.Name, Roles: roles})
	}
	for _, h := range c.History {
		j.Transitions = append(j.Transitions, TransitionJSON{From: string(h.From), To: string(h.To), Event: string(h.Event), Side: h.BySide, Name: h.ByName, At: NewTime(h.At, l)})
	}
	return j
}

// NewPastJSON shows a call of the history with its sessions.
func NewPastJSON(p Past, now time.Time) CallJSON {
	j := NewCallJSON(p.Call, now)
	j.Sessions = []SessionJSON{}
	for _, s := range p.Attendance {
		j.Sessions = append(j.Sessions, newSession(s, p.Line))
	}
	return j
}

func newSession(s store.Attendance, l schedule.Line) SessionJSON {
	return SessionJSON{Name: s.Name, Joined: NewTime(s.Joined, l), Left: newTimePtr(s.Left, l)}
}

// ListJSON answers GET /api/calls and GET /api/history.
type ListJSON struct {
	Line  LineJSON   `json:"line"`
	Calls []CallJSON `json:"calls"`
}
