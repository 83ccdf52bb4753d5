package booking

import (
	"fmt"

	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/store"
)

// toStore is c as the store keeps it.
func toStore(c Call) store.Call {
	sc := store.Call{
		ID: c.ID, Line: c.Line.Name, Kind: string(c.Kind), InitiatingSide: c.InitiatingSide, State: string(c.State),
		ScheduledStart: c.ScheduledStart, Duration: c.ExpectedDuration, PublicOpening: c.PublicOpening, Agenda: c.Agenda,
		ActualStart: c.ActualStart, ActualEnd: c.ActualEnd, Version: c.Version,
		Participants: storeParticipants(c.Participants), Languages: c.Languages,
	}
	for _, h := range c.History {
		sc.Transitions = append(sc.Transitions, storeTransition(h))
	}
	return sc
}

func storeTransition(h schedule.TransitionRecord) store.CallTransition {
	return store.CallTransition{From: string(h.From), To: string(h.To), Event: string(h.Event), BySide: h.BySide, ByName: h.ByName, At: h.At}
}

func storeParticipants(ps []Participant) []store.CallParticipant {
	var out []store.CallParticipant
	for _, p := range ps {
		roles := make([]string, len(p.Roles))
		for i, r := range p.Roles {
			roles[i] = string(r)
		}
		out = append(out, store.CallParticipant{Side: p.Side, Name: p.Name, Roles: roles, Interprets: p.Interprets})
	}
	return out
}

// fromStore rebuilds a call read from the store and checks it with
// schedule.Call.Validate, which replays its history through the state
// machine: a row that does not replay is corruption, not a call.
func fromStore(sc store.Call, l schedule.Line) (Call, error) {
	c := Call{
		Call: schedule.Call{
			ID: sc.ID, Line: l, Kind: schedule.Kind(sc.Kind), InitiatingSide: sc.InitiatingSide, State: schedule.State(sc.State),
			ScheduledStart: sc.ScheduledStart, ExpectedDuration: sc.Duration, PublicOpening: sc.PublicOpening, Agenda: sc.Agenda,
			ActualStart: sc.ActualStart, ActualEnd: sc.ActualEnd,
		},
		Version: sc.Version, Languages: sc.Languages,
	}
	for _, t := range sc.Transitions {
		c.History = append(c.History, schedule.TransitionRecord{
			From: schedule.State(t.From), To: schedule.State(t.To), Event: schedule.Event(t.Event),
			BySide: t.BySide, ByName: t.ByName, At: t.At,
		})
	}
	for _, p := range sc.Participants {
		roles, err := role.ParseList(p.Roles)
		if err != nil {
			return Call{}, fmt.Errorf("booking: stored call %s: participant %q: %w", sc.ID, p.Name, err)
		}
		c.Participants = append(c.Participants, Participant{Side: p.Side, Name: p.Name, Roles: roles, Interprets: p.Interprets})
	}
	if err := c.Validate(); err != nil {
		// Not ErrInvalid: the caller sent nothing wrong; this is a 500.
		return Call{}, fmt.Errorf("booking: stored call %s does not replay: %v", sc.ID, err)
	}
	return c, nil
}
