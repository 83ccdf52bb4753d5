package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/internal/role"
)

func TestNewCall(t *testing.T) {
	c, err := NewCall(testRequest(t), westOperator, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := TransitionRecord{From: StateNone, To: StateRequested, Event: EventRequest, BySide: "west", ByName: "Signals West", At: t0}
	if c.State != StateRequested || c.InitiatingSide != "west" || len(c.History) != 1 || c.History[0] != want {
		t.Fatalf("NewCall = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The call keeps its own copy of the agenda.
	req := testRequest(t)
	c, _ = NewCall(req, westOperator, t0)
	req.Agenda[0] = "changed"
	if c.Agenda[0] != "Opening" {
		t.Error("NewCall shares the request's agenda slice")
	}
}

func TestNewCallRefuses(t *testing.T) {
	long := strings.Repeat("x", MaxAgendaItemBytes+1)
	many := make([]string, MaxAgendaItems+1)
	for i := range many {
		many[i] = "item"
	}
	tests := []struct {
		name string
		edit func(*Request)
		at   time.Time
		want error
	}{
		{"empty id", func(r *Request) { r.ID = "" }, t0, ErrInvalid},
		{"id with a slash", func(r *Request) { r.ID = "a/b" }, t0, ErrInvalid},
		{"id too long", func(r *Request) { r.ID = strings.Repeat("a", 65) }, t0, ErrInvalid},
		{"unknown kind", func(r *Request) { r.Kind = "telegram" }, t0, ErrInvalid},
		{"empty kind", func(r *Request) { r.Kind = "" }, t0, ErrInvalid},
		{"no duration", func(r *Request) { r.ExpectedDuration = 0 }, t0, ErrInvalid},
		{"negative duration", func(r *Request) { r.ExpectedDuration = -time.Hour }, t0, ErrInvalid},
		{"30 seconds", func(r *Request) { r.ExpectedDuration = 30 * time.Second }, t0, ErrInvalid},
		{"90 seconds", func(r *Request) { r.ExpectedDuration = 90 * time.Second }, t0, ErrInvalid},
		{"13 hours", func(r *Request) { r.ExpectedDuration = 13 * time.Hour }, t0, ErrInvalid},
		{"too many agenda items", func(r *Request) { r.Agenda = many }, t0, ErrInvalid},
		{"agenda item too long", func(r *Request) { r.Agenda = []string{long} }, t0, ErrInvalid},
		{"empty agenda item", func(r *Request) { r.Agenda = []string{""} }, t0, ErrInvalid},
		{"agenda item with a line break", func(r *Request) { r.Agenda = []string{"a\nb"} }, t0, ErrInvalid},
		{"agenda item with a tab", func(r *Request) { r.Agenda = []string{"a\tb"} }, t0, ErrInvalid},
		{"agenda item padded", func(r *Request) { r.Agenda = []string{" a"} }, t0, ErrInvalid},
		{"agenda item not UTF-8", func(r *Request) { r.Agenda = []string{"a\xffb"} }, t0, ErrInvalid},
		{"no start", func(r *Request) { r.Start = time.Time{} }, t0, ErrInvalid},
		{"start in year 1999", func(r *Request) { r.Start = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC) }, t0, ErrInvalid},
		{"start in the past", func(r *Request) { r.Start = t0.Add(-time.Minute) }, t0, ErrPast},
		{"start too far ahead", func(r *Request) { r.Start = t0.Add(MaxAhead + time.Minute) }, t0, ErrTooFar},
		{"no request time", func(r *Request) {}, time.Time{}, ErrInvalid},
		{"line name empty", func(r *Request) { r.Line.Name = "" }, t0, ErrInvalid},
		{"side name upper case", func(r *Request) { r.Line.A.Name = "East" }, t0, ErrInvalid},
		{"side name too long", func(r *Request) { r.Line.A.Name = strings.Repeat("e", 33) }, t0, ErrInvalid},
		{"both sides the same", func(r *Request) { r.Line.B.Name = "east" }, t0, ErrInvalid},
		{"side without zone", func(r *Request) { r.Line.B.Zone = nil }, t0, ErrInvalid},
		{"side in the host's zone", func(r *Request) { r.Line.B.Zone = time.Local }, t0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest(t)
			tt.edit(&r)
			c, err := NewCall(r, eastPrincipal, tt.at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewCall = %v, want %v", err, tt.want)
			}
			if c.ID != "" || c.History != nil {
				t.Errorf("refused NewCall returned a call %+v", c)
			}
		})
	}
	// The bounds themselves are accepted.
	r := testRequest(t)
	r.Agenda = many[:MaxAgendaItems]
	r.Agenda[0] = strings.Repeat("é", MaxAgendaItemBytes/2)
	r.ExpectedDuration = MaxDuration
	r.Start = t0.Add(MaxAhead)
	if _, err := NewCall(r, eastPrincipal, t0); err != nil {
		t.Errorf("at the bounds: %v", err)
	}
	r.ExpectedDuration = MinDuration
	r.Start = t0.Add(-Grace + time.Second) // the current minute counts as now
	if _, err := NewCall(r, eastPrincipal, t0); err != nil {
		t.Errorf("at the lower bounds: %v", err)
	}
	if _, err := NewCall(testRequest(t), eastAdviser, t0); !errors.Is(err, role.ErrForbidden) {
		t.Errorf("an adviser requests: %v", err)
	}
}

func TestValidateHistory(t *testing.T) {
	good := callIn(t, StateEnded)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Call)
		want error
	}{
		{"state changed", func(c *Call) { c.State = StateLive }, ErrInvalid},
		{"initiator changed", func(c *Call) { c.InitiatingSide = "west" }, ErrInvalid},
		{"start moved", func(c *Call) { c.ActualStart = c.ActualStart.Add(time.Minute) }, ErrInvalid},
		{"end erased", func(c *Call) { c.ActualEnd = time.Time{} }, ErrInvalid},
		{"no history", func(c *Call) { c.History = nil }, ErrInvalid},
		{"record dropped", func(c *Call) { c.History = append(c.History[:1:1], c.History[2:]...) }, ErrInvalid},
		{"record to the wrong state", func(c *Call) { c.History[1].To = StateDeclined }, ErrInvalid},
		{"accept by the requester", func(c *Call) { c.History[1].BySide = "east" }, ErrWrongSide},
		{"actor not on the line", func(c *Call) { c.History[2].BySide = "north" }, ErrNotOnLine},
		{"clock runs backwards", func(c *Call) { c.History[3].At = c.History[2].At.Add(-time.Second) }, ErrClock},
		{"illegal event", func(c *Call) { c.History[2].Event = EventDecline }, ErrIllegal},
		{"bad agenda", func(c *Call) { c.Agenda = []string{"a\r"} }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clone(good)
			tt.edit(&c)
			if err := c.Validate(); !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
	for _, s := range States {
		if err := callIn(t, s).Validate(); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestParseKindAndLine(t *testing.T) {
	for _, s := range []string{"video", "phone"} {
		if k, err := ParseKind(s); err != nil || string(k) != s {
			t.Errorf("ParseKind(%q) = %q, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "Video", "audio"} {
		if _, err := ParseKind(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseKind(%q) = %v", s, err)
		}
	}
	l := testLine(t)
	if s, ok := l.Other("east"); !ok || s.Name != "west" {
		t.Errorf("Other(east) = %v, %v", s, ok)
	}
	if s, ok := l.Other("west"); !ok || s.Name != "east" {
		t.Errorf("Other(west) = %v, %v", s, ok)
	}
	if _, ok := l.Other("north"); ok {
		t.Error("Other(north) found a side")
	}
	if s, ok := l.Side("west"); !ok || s.Zone.String() != "America/New_York" {
		t.Errorf("Side(west) = %v, %v", s, ok)
	}
	for _, s := range []string{"requested", "ended"} {
		if st, err := ParseState(s); err != nil || string(st) != s {
			t.Errorf("ParseState(%q) = %q, %v", s, st, err)
		}
	}
	if _, err := ParseState(""); err == nil {
		t.Error("ParseState accepted the empty state")
	}
}
