package schedule

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"hotline/internal/role"
)

// machine is the expected state machine, every (state, event) pair, written
// out from issue 4 independently of edges: "-" is illegal.
const machine = `
from       request    accept    decline   cancel     start  end
none       requested  -         -         -          -      -
requested  -          accepted  declined  cancelled  -      -
accepted   -          -         -         cancelled  live   -
declined   -          -         -         -          -      -
live       -          -         -         -          -      ended
ended      -          -         -         -          -      -
cancelled  -          -         -         -          -      -
`

func stateNamed(t *testing.T, s string) State {
	t.Helper()
	if s == "none" {
		return StateNone
	}
	st, err := ParseState(s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestNextEveryPair(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(machine), "\n")
	head := strings.Fields(lines[0])[1:]
	if len(head) != len(Events) {
		t.Fatalf("grid has %d events, package %d", len(head), len(Events))
	}
	pairs := 0
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		from := stateNamed(t, f[0])
		for i, cell := range f[1:] {
			ev, err := ParseEvent(head[i])
			if err != nil {
				t.Fatal(err)
			}
			pairs++
			got, err := Next(from, ev)
			if cell == "-" {
				if !errors.Is(err, ErrIllegal) {
					t.Errorf("Next(%s, %s) = %q, %v; want ErrIllegal", f[0], ev, got, err)
				} else if !strings.Contains(err.Error(), string(ev)) {
					t.Errorf("Next(%s, %s): message %q does not name the event", f[0], ev, err)
				}
				continue
			}
			if err != nil || got != stateNamed(t, cell) {
				t.Errorf("Next(%s, %s) = %q, %v; want %s", f[0], ev, got, err, cell)
			}
		}
	}
	if pairs != (len(States)+1)*len(Events) {
		t.Errorf("grid covers %d pairs, want %d", pairs, (len(States)+1)*len(Events))
	}
	if _, err := Next(StateRequested, "approve"); !errors.Is(err, ErrUnknownEvent) {
		t.Errorf("unknown event: %v", err)
	}
	for _, s := range States {
		_, hasEdge := edges[s]
		if s.Final() == hasEdge {
			t.Errorf("%s: Final() = %v but it has edges = %v", s, s.Final(), hasEdge)
		}
	}
}

// The test line: east (Moscow) and west (New York).
func testLine(t testing.TB) Line {
	t.Helper()
	return Line{
		Name: "demo",
		A:    Side{Name: "east", Zone: mustZone(t, "Europe/Moscow")},
		B:    Side{Name: "west", Zone: mustZone(t, "America/New_York")},
	}
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func actor(side, name string, rs ...role.Role) Actor {
	return Actor{Side: side, Name: name, Roles: rs}
}

var (
	eastPrincipal   = actor("east", "Vladimir", role.Principal)
	eastOperator    = actor("east", "Signals East", role.Operator)
	eastAdviser     = actor("east", "Sergei", role.Adviser)
	eastInterpreter = actor("east", "Pavel", role.Interpreter)
	westPrincipal   = actor("west", "Joe", role.Principal)
	westOperator    = actor("west", "Signals West", role.Operator)
	westAdviser     = actor("west", "Jake", role.Adviser)
	westPressOff    = actor("west", "Karine", role.PressOfficer)
	westPress       = actor("west", "Pool camera", role.Press)
	westMonitor     = actor("west", "Wall", role.Monitor)
	westOpAdviser   = actor("west", "Signals West", role.Adviser, role.Operator)
	northPrincipal  = actor("north", "Someone", role.Principal)
)

var t0 = time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)

func testRequest(t testing.TB) Request {
	return Request{
		ID: "c1", Line: testLine(t), Kind: Video,
		Start: t0.Add(9 * time.Hour), ExpectedDuration: 2 * time.Hour,
		Agenda: []string{"Opening", "Strategic stability"},
	}
}

// callIn returns a call requested by east at t0 and driven to state s
// (StateNone: the zero call with the request's fields).
func callIn(t *testing.T, s State) Call {
	t.Helper()
	if s == StateNone {
		r := testRequest(t)
		return Call{ID: r.ID, Line: r.Line, Kind: r.Kind, ScheduledStart: r.Start, ExpectedDuration: r.ExpectedDuration, Agenda: r.Agenda}
	}
	c, err := NewCall(testRequest(t), eastPrincipal, t0)
	if err != nil {
		t.Fatal(err)
	}
	path := map[State][]Event{
		StateRequested: nil,
		StateAccepted:  {EventAccept},
		StateDeclined:  {EventDecline},
		StateCancelled: {EventCancel},
		StateLive:      {EventAccept, EventStart},
		StateEnded:     {EventAccept, EventStart, EventEnd},
	}[s]
	by := map[Event]Actor{EventAccept: westPrincipal, EventDecline: westPrincipal, EventCancel: eastPrincipal, EventStart: eastOperator, EventEnd: westPrincipal}
	at := t0
	for _, ev := range path {
		at = at.Add(time.Hour)
		if _, err := c.Apply(ev, by[ev], at); err != nil {
			t.Fatalf("driving to %s: %v", s, err)
		}
	}
	if c.State != s {
		t.Fatalf("drove to %s, want %s", c.State, s)
	}
	return c
}

func clone(c Call) Call {
	c.History = append([]TransitionRecord(nil), c.History...)
	c.Agenda = append([]string(nil), c.Agenda...)
	return c
}

// TestApplyActors covers every (state, event) pair with several actors; the
// call is requested by east. want nil means the transition is made.
func TestApplyActors(t *testing.T) {
	type tc struct {
		from State
		ev   Event
		by   Actor
		want error
	}
	cases := []tc{
		// request: either side, principal or operator.
		{StateNone, EventRequest, eastPrincipal, nil},
		{StateNone, EventRequest, westOperator, nil},
		{StateNone, EventRequest, eastAdviser, role.ErrForbidden},
		{StateNone, EventRequest, westPress, role.ErrForbidden},
		{StateNone, EventRequest, northPrincipal, ErrNotOnLine},
		// accept / decline: only the other side.
		{StateRequested, EventAccept, westPrincipal, nil},
		{StateRequested, EventAccept, westOperator, nil},
		{StateRequested, EventAccept, westOpAdviser, nil},
		{StateRequested, EventAccept, eastPrincipal, ErrWrongSide},
		{StateRequested, EventAccept, eastOperator, ErrWrongSide},
		{StateRequested, EventAccept, westAdviser, role.ErrForbidden},
		{StateRequested, EventAccept, northPrincipal, ErrNotOnLine},
		{StateRequested, EventDecline, westPrincipal, nil},
		{StateRequested, EventDecline, westOperator, nil},
		{StateRequested, EventDecline, eastPrincipal, ErrWrongSide},
		{StateRequested, EventDecline, westPressOff, role.ErrForbidden},
		// cancel a request: only the side that made it.
		{StateRequested, EventCancel, eastPrincipal, nil},
		{StateRequested, EventCancel, eastOperator, nil},
		{StateRequested, EventCancel, westPrincipal, ErrWrongSide},
		{StateRequested, EventCancel, eastInterpreter, role.ErrForbidden},
		// cancel an agreed call: either side.
		{StateAccepted, EventCancel, eastPrincipal, nil},
		{StateAccepted, EventCancel, westPrincipal, nil},
		{StateAccepted, EventCancel, westOperator, nil},
		{StateAccepted, EventCancel, westMonitor, role.ErrForbidden},
		{StateAccepted, EventCancel, northPrincipal, ErrNotOnLine},
		// start and end: either side.
		{StateAccepted, EventStart, eastPrincipal, nil},
		{StateAccepted, EventStart, westOperator, nil},
		{StateAccepted, EventStart, westPress, role.ErrForbidden},
		{StateLive, EventEnd, eastPrincipal, nil},
		{StateLive, EventEnd, westPrincipal, nil},
		{StateLive, EventEnd, eastAdviser, role.ErrForbidden},
		{StateLive, EventEnd, northPrincipal, ErrNotOnLine},
		// A bad display name is refused whatever the transition.
		{StateRequested, EventAccept, actor("west", " Joe", role.Principal), ErrInvalid},
		{StateRequested, EventAccept, actor("west", "", role.Principal), ErrInvalid},
	}
	// Every illegal pair, with an actor who could make any legal one.
	for _, l := range strings.Split(strings.TrimSpace(machine), "\n")[1:] {
		f := strings.Fields(l)
		for i, cell := range f[1:] {
			if cell == "-" {
				cases = append(cases, tc{stateNamed(t, f[0]), Events[i], westOperator, ErrIllegal})
			}
		}
	}
	// Every legal pair appears with at least one allowed actor above.
	legal := map[[2]string]bool{}
	for _, c := range cases {
		if c.want == nil {
			legal[[2]string{string(c.from), string(c.ev)}] = true
		}
	}
	if len(legal) != 7 {
		t.Fatalf("cases make %d legal pairs, the machine has 7", len(legal))
	}

	for _, c := range cases {
		name := c.from.String() + "/" + string(c.ev) + "/" + c.by.Side + "/" + c.by.Name
		t.Run(name, func(t *testing.T) {
			call := callIn(t, c.from)
			before := clone(call)
			at := t0.Add(5 * time.Hour)
			rec, err := call.Apply(c.ev, c.by, at)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("Apply = %v, want %v", err, c.want)
				}
				if !reflect.DeepEqual(call, before) {
					t.Fatalf("a refused transition changed the call:\n%+v\n%+v", before, call)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want, _ := Next(c.from, c.ev)
			wantRec := TransitionRecord{From: c.from, To: want, Event: c.ev, BySide: c.by.Side, ByName: c.by.Name, At: at}
			if rec != wantRec || call.State != want {
				t.Fatalf("record %+v, state %s; want %+v", rec, call.State, wantRec)
			}
			if n := len(call.History); n != len(before.History)+1 || call.History[n-1] != wantRec {
				t.Fatalf("history %+v", call.History)
			}
			switch c.ev {
			case EventRequest:
				if call.InitiatingSide != c.by.Side {
					t.Errorf("initiating side %q, want %q", call.InitiatingSide, c.by.Side)
				}
			case EventStart:
				if !call.ActualStart.Equal(at) || !call.ActualEnd.IsZero() {
					t.Errorf("start: actual %v–%v", call.ActualStart, call.ActualEnd)
				}
			case EventEnd:
				if !call.ActualEnd.Equal(at) || !call.ActualStart.Equal(before.ActualStart) {
					t.Errorf("end: actual %v–%v", call.ActualStart, call.ActualEnd)
				}
			}
			if err := call.Validate(); err != nil {
				t.Errorf("the call after the transition does not validate: %v", err)
			}
		})
	}
}

func TestApplyTimes(t *testing.T) {
	c := callIn(t, StateRequested) // requested at t0 for t0+9h, 2 h
	before := clone(c)
	tests := []struct {
		name string
		ev   Event
		at   time.Time
		want error
	}{
		{"before the request", EventAccept, t0.Add(-time.Second), ErrClock},
		{"zero time", EventAccept, time.Time{}, ErrInvalid},
		{"when the slot ends", EventAccept, t0.Add(11 * time.Hour), ErrExpired},
		{"after the slot", EventAccept, t0.Add(30 * time.Hour), ErrExpired},
		{"decline after the slot is fine", EventDecline, t0.Add(30 * time.Hour), nil},
		{"at the same instant as the request", EventAccept, t0, nil},
		{"just before the slot ends", EventAccept, t0.Add(11*time.Hour - time.Second), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clone(before)
			_, err := c.Apply(tt.ev, westPrincipal, tt.at)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Apply = %v, want %v", err, tt.want)
			}
			if !reflect.DeepEqual(c, before) {
				t.Fatal("refused transition changed the call")
			}
		})
	}

	// A call may start early, but the clock never runs backwards.
	c = callIn(t, StateAccepted) // accepted at t0+1h
	if _, err := c.Apply(EventStart, westPrincipal, t0.Add(30*time.Minute)); !errors.Is(err, ErrClock) {
		t.Fatalf("start before the accept: %v", err)
	}
	if _, err := c.Apply(EventStart, westPrincipal, t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("start seven hours early: %v", err)
	}
	if _, err := c.Apply(EventEnd, eastPrincipal, t0.Add(time.Hour)); !errors.Is(err, ErrClock) {
		t.Fatalf("end before the start: %v", err)
	}
	if _, err := c.Apply(EventEnd, eastPrincipal, t0.Add(3*time.Hour+42*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := c.Duration(t0.Add(100 * time.Hour)); got != time.Hour+42*time.Minute {
		t.Errorf("Duration of the ended call = %s", got)
	}
}

func TestErrorMessages(t *testing.T) {
	c := callIn(t, StateRequested)
	_, err := c.Apply(EventAccept, eastPrincipal, t0.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "only the other side may accept") || !strings.Contains(err.Error(), "east requested") {
		t.Errorf("own accept: %v", err)
	}
	_, err = c.Apply(EventCancel, westPrincipal, t0.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "west declines it instead") {
		t.Errorf("other side's cancel: %v", err)
	}
	e := callIn(t, StateEnded)
	_, err = e.Apply(EventStart, westPrincipal, t0.Add(9*time.Hour))
	if err == nil || !strings.Contains(err.Error(), "cannot start a call that is ended (it is over)") {
		t.Errorf("start an ended call: %v", err)
	}
	a := callIn(t, StateAccepted)
	_, err = a.Apply(EventAccept, westPrincipal, t0.Add(9*time.Hour))
	if err == nil || !strings.Contains(err.Error(), "(it can be: cancel, start)") {
		t.Errorf("accept twice: %v", err)
	}
	_, err = a.Apply(EventStart, westPress, t0.Add(9*time.Hour))
	if err == nil || !strings.Contains(err.Error(), "start_call") || !strings.Contains(err.Error(), "press") {
		t.Errorf("press starts: %v", err)
	}
}

func TestDuration(t *testing.T) {
	live := callIn(t, StateLive) // went live at t0+2h
	if got := live.Duration(t0.Add(2*time.Hour + 90*time.Second)); got != 90*time.Second {
		t.Errorf("live Duration = %s", got)
	}
	if got := live.Duration(t0); got != 0 {
		t.Errorf("live Duration before the start = %s", got)
	}
	if got := callIn(t, StateAccepted).Duration(t0.Add(50 * time.Hour)); got != 0 {
		t.Errorf("accepted Duration = %s", got)
	}
	if got := callIn(t, StateEnded).Duration(t0); got != time.Hour {
		t.Errorf("ended Duration = %s", got)
	}
}
