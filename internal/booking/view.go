package booking

import (
	"time"

	"hotline/internal/api"
	"hotline/internal/schedule"
	"hotline/internal/store"
)

// API shows the booked call as the API answers it (docs/API.md, "The call
// object"), at time now (for the duration of a live call).
func (c Call) API(now time.Time) api.Call {
	l := c.Line
	j := api.Call{
		ID: c.ID, Line: api.NewLine(l), Kind: string(c.Kind), State: string(c.State), InitiatingSide: c.InitiatingSide,
		ScheduledStart: api.NewTime(c.ScheduledStart, l), ScheduledEnd: api.NewTime(c.ScheduledEnd(), l),
		DurationMinutes: int64(c.ExpectedDuration / time.Minute), PublicOpeningMinutes: int64(c.PublicOpening / time.Minute), Agenda: c.Agenda,
		Participants: map[string][]api.Participant{l.A.Name: {}, l.B.Name: {}},
		ActualStart:  api.NewTimePtr(c.ActualStart, l), ActualEnd: api.NewTimePtr(c.ActualEnd, l),
		Version: c.Version, ICS: "/calls/" + c.ID + ".ics",
	}
	if j.Agenda == nil {
		j.Agenda = []string{}
	}
	j.Languages = append([]string{}, c.Languages...)
	if c.State == schedule.StateLive || c.State == schedule.StateEnded {
		secs := int64(c.Duration(now) / time.Second)
		j.ActualSeconds = &secs
	}
	for _, p := range c.Participants {
		j.Participants[p.Side] = append(j.Participants[p.Side], api.Participant{Name: p.Name, Roles: api.Roles(p.Roles), Interprets: p.Interprets})
	}
	for _, h := range c.History {
		j.Transitions = append(j.Transitions, api.TransitionRecord{From: string(h.From), To: string(h.To), Event: string(h.Event), Side: h.BySide, Name: h.ByName, At: api.NewTime(h.At, l)})
	}
	return j
}

// API shows a booked call of the history with its attendance.
func (p Past) API(now time.Time) api.Call {
	j := p.Call.API(now)
	j.Sessions = []api.Attendance{}
	for _, s := range p.Attendance {
		j.Sessions = append(j.Sessions, attendance(s, p.Line))
	}
	return j
}

func attendance(s store.Attendance, l schedule.Line) api.Attendance {
	return api.Attendance{Name: s.Name, Joined: api.NewTime(s.Joined, l), Left: api.NewTimePtr(s.Left, l)}
}
