package booking

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/store"
)

// fixture is a service over a real SQLite file with the line demo between
// east (Moscow) and west (New York), and a clock the test moves.
type fixture struct {
	t   *testing.T
	svc *Service
	st  *store.Store
	now time.Time
}

// t0 is a Saturday morning in both capitals: 09:00 in Moscow, 01:00 in New York.
var t0 = time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i, s := range []store.Side{{Name: "east", TimeZone: "Europe/Moscow"}, {Name: "west", TimeZone: "America/New_York"}} {
		s.AuthorityKey = bytes.Repeat([]byte{byte(i + 1)}, 32)
		if err := st.AddSide(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddLine(ctx, "demo", "east", "west"); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, now: t0}
	f.svc = New(st)
	f.svc.now = func() time.Time { return f.now }
	return f
}

func caller(side, name string, roles ...role.Role) Caller {
	return Caller{Line: "demo", Side: side, Name: name, Device: "0123456789abcdef", Roles: roles}
}

var (
	eastOperator  = caller("east", "East Operator", role.Operator)
	eastPrincipal = caller("east", "East Principal", role.Principal)
	eastAdviser   = caller("east", "East Adviser", role.Adviser)
	westOperator  = caller("west", "West Operator", role.Operator)
	westPrincipal = caller("west", "West Principal", role.Principal)
	westAdviser   = caller("west", "West Adviser", role.Adviser)
	westPress     = caller("west", "West Press", role.Press)
	westMonitor   = caller("west", "West Monitor", role.Monitor)
)

// request is the usual request: a video call at 18:00 Moscow time today,
// two hours, with the east principal and an adviser named.
func request() api.Request {
	return api.Request{
		Line: "demo", Kind: schedule.Video, When: "at 18:00 Europe/Moscow", Duration: 2 * time.Hour,
		Agenda: []string{"Opening", "Grain corridor"},
		Named:  []api.Person{{Name: "East Principal", Roles: []role.Role{role.Principal}}, {Name: "East Adviser", Roles: []role.Role{role.Adviser}}},
	}
}

func (f *fixture) request(by Caller, r api.Request) Call {
	f.t.Helper()
	c, _, err := f.svc.Request(context.Background(), by, r)
	if err != nil {
		f.t.Fatalf("request by %s: %v", by.Name, err)
	}
	return c
}

func (f *fixture) do(by Caller, id string, ev schedule.Event, in api.Transition) (Call, error) {
	return f.svc.Transition(context.Background(), by, id, ev, in)
}

func (f *fixture) must(by Caller, id string, ev schedule.Event, in api.Transition) Call {
	f.t.Helper()
	c, err := f.do(by, id, ev, in)
	if err != nil {
		f.t.Fatalf("%s by %s: %v", ev, by.Name, err)
	}
	return c
}

func (f *fixture) load(id string) Call {
	f.t.Helper()
	c, err := f.svc.Call(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func TestFullFlow(t *testing.T) {
	f := newFixture(t)
	c := f.request(eastOperator, request())
	if err := validID(c.ID); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	if c.State != schedule.StateRequested || c.InitiatingSide != "east" || !c.ScheduledStart.Equal(want) || c.Version != 1 {
		t.Fatalf("requested: %+v", c)
	}

	f.now = t0.Add(time.Hour)
	named := []api.Person{{Name: "West Principal", Roles: []role.Role{role.Principal}}, {Name: "West Interpreter", Roles: []role.Role{role.Interpreter}}}
	c = f.must(westPrincipal, c.ID, schedule.EventAccept, api.Transition{Version: 1, Named: named})
	if c.State != schedule.StateAccepted || c.Version != 2 {
		t.Fatalf("accepted: %+v", c)
	}
	f.now = want.Add(-2 * time.Minute)
	c = f.must(eastPrincipal, c.ID, schedule.EventStart, api.Transition{})
	f.now = want.Add(2 * time.Hour)
	c = f.must(westOperator, c.ID, schedule.EventEnd, api.Transition{Version: 3})
	if c.State != schedule.StateEnded || c.Version != 4 || c.Duration(f.now) != 2*time.Hour+2*time.Minute {
		t.Fatalf("ended: %+v", c)
	}

	// What was written reads back the same, history and all.
	got := f.load(c.ID)
	if got.State != schedule.StateEnded || got.Version != 4 || len(got.History) != 4 || !got.ActualStart.Equal(want.Add(-2*time.Minute)) {
		t.Fatalf("read back: %+v", got)
	}
	wantHist := []struct {
		ev         schedule.Event
		side, name string
		at         time.Time
	}{
		{schedule.EventRequest, "east", "East Operator", t0},
		{schedule.EventAccept, "west", "West Principal", t0.Add(time.Hour)},
		{schedule.EventStart, "east", "East Principal", want.Add(-2 * time.Minute)},
		{schedule.EventEnd, "west", "West Operator", want.Add(2 * time.Hour)},
	}
	for i, w := range wantHist {
		h := got.History[i]
		if h.Event != w.ev || h.BySide != w.side || h.ByName != w.name || !h.At.Equal(w.at) {
			t.Errorf("transition %d: %+v, want %+v", i, h, w)
		}
	}
	east, west := got.Named("east"), got.Named("west")
	if len(east) != 2 || east[0].Name != "East Principal" || len(west) != 2 || west[1].Name != "West Interpreter" || west[1].Roles[0] != role.Interpreter {
		t.Fatalf("named: east %+v, west %+v", east, west)
	}
	if n, err := f.svc.Named(context.Background(), c.ID, "west"); err != nil || len(n) != 2 {
		t.Fatalf("Named: %+v, %v", n, err)
	}
}

func TestDeclineAndCancel(t *testing.T) {
	f := newFixture(t)
	a := f.request(westOperator, request())
	if c := f.must(eastPrincipal, a.ID, schedule.EventDecline, api.Transition{}); c.State != schedule.StateDeclined {
		t.Fatalf("declined: %+v", c)
	}
	b := f.request(westOperator, request())
	if c := f.must(westPrincipal, b.ID, schedule.EventCancel, api.Transition{}); c.State != schedule.StateCancelled {
		t.Fatalf("request withdrawn: %+v", c)
	}
	// An accepted call is called off by either side.
	c := f.request(westOperator, request())
	f.must(eastOperator, c.ID, schedule.EventAccept, api.Transition{})
	if c := f.must(eastOperator, c.ID, schedule.EventCancel, api.Transition{}); c.State != schedule.StateCancelled || c.History[2].BySide != "east" {
		t.Fatalf("accepted call cancelled: %+v", c)
	}
	_, calls, err := f.svc.List(context.Background(), eastAdviser, "demo")
	if err != nil || len(calls) != 0 {
		t.Fatalf("upcoming after decline and cancels: %d calls, %v", len(calls), err)
	}
	_, past, err := f.svc.History(context.Background(), westOperator, "demo")
	if err != nil || len(past) != 3 {
		t.Fatalf("history: %d calls, %v", len(past), err)
	}
}

// Every refusal names its kind and changes nothing stored.
func TestTransitionRefusals(t *testing.T) {
	f := newFixture(t)
	req := f.request(eastOperator, request())  // requested by east
	acc := f.request(westPrincipal, request()) // accepted
	f.must(eastOperator, acc.ID, schedule.EventAccept, api.Transition{Named: []api.Person{{Name: "East Principal", Roles: []role.Role{role.Principal}}}})
	cases := []struct {
		name string
		by   Caller
		id   string
		ev   schedule.Event
		in   api.Transition
		want error
	}{
		{"adviser accepts", westAdviser, req.ID, schedule.EventAccept, api.Transition{}, ErrForbidden},
		{"press accepts", westPress, req.ID, schedule.EventAccept, api.Transition{}, ErrForbidden},
		{"monitor declines", westMonitor, req.ID, schedule.EventDecline, api.Transition{}, ErrForbidden},
		{"own request accepted", eastPrincipal, req.ID, schedule.EventAccept, api.Transition{}, ErrForbidden},
		{"own request declined", eastOperator, req.ID, schedule.EventDecline, api.Transition{}, ErrForbidden},
		{"other side withdraws the request", westOperator, req.ID, schedule.EventCancel, api.Transition{}, ErrForbidden},
		{"start before accept", westOperator, req.ID, schedule.EventStart, api.Transition{}, ErrConflict},
		{"end before live", westOperator, acc.ID, schedule.EventEnd, api.Transition{}, ErrConflict},
		{"accept twice", westOperator, acc.ID, schedule.EventAccept, api.Transition{}, ErrConflict},
		{"stale version", westOperator, req.ID, schedule.EventAccept, api.Transition{Version: 7}, ErrConflict},
		{"names on a decline", westOperator, req.ID, schedule.EventDecline, api.Transition{Named: []api.Person{{Name: "X", Roles: []role.Role{role.Adviser}}}}, ErrInvalid},
		{"request as a transition", westOperator, req.ID, schedule.EventRequest, api.Transition{}, ErrInvalid},
		{"unknown event", westOperator, req.ID, schedule.Event("ring"), api.Transition{}, ErrInvalid},
		{"unknown call", westOperator, "c-aaaaaaaaaaaa", schedule.EventAccept, api.Transition{}, ErrNotFound},
		{"session of another line", Caller{Line: "other", Side: "west", Name: "W", Roles: []role.Role{role.Operator}}, req.ID, schedule.EventAccept, api.Transition{}, ErrNotFound},
		{"side not on the line", caller("north", "N", role.Operator), req.ID, schedule.EventAccept, api.Transition{}, ErrForbidden},
	}
	for _, tc := range cases {
		var before Call
		if tc.want != ErrNotFound {
			before = f.load(tc.id)
		}
		_, err := f.do(tc.by, tc.id, tc.ev, tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if tc.want != ErrNotFound {
			after := f.load(tc.id)
			if after.Version != before.Version || after.State != before.State || len(after.History) != len(before.History) || len(after.Participants) != len(before.Participants) {
				t.Errorf("%s: the call changed: %+v → %+v", tc.name, before, after)
			}
		}
	}
	// Too many participants: the accept with them does not happen.
	_, err := f.do(westOperator, req.ID, schedule.EventAccept, api.Transition{Named: make([]api.Person, api.MaxNamed+1)})
	if !errors.Is(err, ErrInvalid) || f.load(req.ID).State != schedule.StateRequested {
		t.Fatalf("too many named: %v", err)
	}
	// The refused accepts left the request open for a valid one.
	c := f.must(westOperator, req.ID, schedule.EventAccept, api.Transition{Named: []api.Person{{Name: "West Principal", Roles: []role.Role{role.Principal}}}})
	if c.State != schedule.StateAccepted || len(c.Named("west")) != 1 {
		t.Fatalf("accept after refusals: %+v", c)
	}
}

func TestRequestRefusals(t *testing.T) {
	f := newFixture(t)
	edit := func(fn func(*api.Request)) api.Request { r := request(); fn(&r); return r }
	cases := []struct {
		name string
		by   Caller
		req  api.Request
		want error
	}{
		{"adviser", eastAdviser, request(), ErrForbidden},
		{"press", westPress, request(), ErrForbidden},
		{"monitor", westMonitor, request(), ErrForbidden},
		{"another line", eastOperator, edit(func(r *api.Request) { r.Line = "other" }), ErrForbidden},
		{"side not on the line", caller("north", "N", role.Operator), request(), ErrForbidden},
		{"unreadable time", eastOperator, edit(func(r *api.Request) { r.When = "tomorrowish" }), ErrInvalid},
		{"unknown zone", eastOperator, edit(func(r *api.Request) { r.When = "at 18:00 Mars/Olympus" }), ErrInvalid},
		{"past date", eastOperator, edit(func(r *api.Request) { r.When = "at 2026-11-20 18:00" }), ErrInvalid},
		{"too far ahead", eastOperator, edit(func(r *api.Request) { r.When = "at 2030-01-01 18:00" }), ErrInvalid},
		{"DST gap", westOperator, edit(func(r *api.Request) { r.When = "at 2027-03-14 02:30 America/New_York" }), ErrInvalid},
		{"agenda item with a line break", eastOperator, edit(func(r *api.Request) { r.Agenda = []string{"a\nb"} }), ErrInvalid},
		{"duration of seconds", eastOperator, edit(func(r *api.Request) { r.Duration = 90 * time.Second }), ErrInvalid},
	}
	for _, tc := range cases {
		_, _, err := f.svc.Request(context.Background(), tc.by, tc.req)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Nothing was stored by any of them.
	_, calls, err := f.svc.List(context.Background(), eastOperator, "demo")
	if err != nil || len(calls) != 0 {
		t.Fatalf("after refusals: %d calls, %v", len(calls), err)
	}
}

// "at 18:00" without a zone is read on the requester's clocks, and a wall
// time that happens twice comes with a note.
func TestRequestZones(t *testing.T) {
	f := newFixture(t)
	r := request()
	r.When = "at 18:00"
	c := f.request(westOperator, r) // 18:00 New York (EST) is 23:00 UTC
	if want := time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC); !c.ScheduledStart.Equal(want) {
		t.Fatalf("west's 18:00 = %v, want %v", c.ScheduledStart, want)
	}
	r.When = "at 2027-11-07 01:30 America/New_York"
	_, note, err := f.svc.Request(context.Background(), eastOperator, r)
	if err != nil || note == "" {
		t.Fatalf("ambiguous time: note %q, %v", note, err)
	}
	r.When = "now"
	f.now = t0.Add(1234567 * time.Microsecond)
	c = f.request(eastOperator, r)
	if !c.ScheduledStart.Equal(t0.Add(time.Second)) {
		t.Fatalf("now = %v, want whole seconds %v", c.ScheduledStart, t0.Add(time.Second))
	}
	if got := f.load(c.ID); !got.History[0].At.Equal(t0.Add(1234 * time.Millisecond)) {
		t.Fatalf("request time read back as %v", got.History[0].At)
	}
}

// A request cannot be accepted once its slot is over.
func TestAcceptTooLate(t *testing.T) {
	f := newFixture(t)
	c := f.request(eastOperator, request())
	f.now = c.ScheduledEnd()
	if _, err := f.do(westOperator, c.ID, schedule.EventAccept, api.Transition{}); !errors.Is(err, ErrConflict) || !errors.Is(err, schedule.ErrExpired) {
		t.Fatalf("late accept: %v", err)
	}
}

func TestViewRefusals(t *testing.T) {
	f := newFixture(t)
	c := f.request(eastOperator, request())
	ctx := context.Background()
	if _, err := f.svc.View(ctx, westPress, c.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("press views: %v", err)
	}
	if _, err := f.svc.ICS(ctx, westMonitor, c.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("monitor exports: %v", err)
	}
	if _, _, err := f.svc.List(ctx, westMonitor, "demo"); !errors.Is(err, ErrForbidden) {
		t.Errorf("monitor lists: %v", err)
	}
	if _, _, err := f.svc.History(ctx, eastAdviser, "demo"); !errors.Is(err, ErrForbidden) {
		t.Errorf("adviser reads the history: %v", err)
	}
	if _, _, err := f.svc.List(ctx, eastOperator, "other"); !errors.Is(err, ErrForbidden) {
		t.Errorf("list of another line: %v", err)
	}
	if ics, err := f.svc.ICS(ctx, westAdviser, c.ID); err != nil || !bytes.Contains(ics, []byte("UID:"+c.ID+".demo.east.west@hotline")) {
		t.Errorf("adviser exports: %v\n%s", err, ics)
	}
}

func TestSystem(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.request(eastOperator, request())
	if _, err := f.svc.System(ctx, c.ID, schedule.EventStart, "west"); !errors.Is(err, ErrConflict) {
		t.Fatalf("system start of a request: %v", err)
	}
	if _, err := f.svc.Joinable(ctx, "demo", c.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("a request is joinable: %v", err)
	}
	f.must(westOperator, c.ID, schedule.EventAccept, api.Transition{})
	if _, err := f.svc.Joinable(ctx, "demo", c.ID); err != nil {
		t.Fatalf("accepted call not joinable: %v", err)
	}
	if _, err := f.svc.Joinable(ctx, "other", c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("joinable on another line: %v", err)
	}
	for _, ev := range []schedule.Event{schedule.EventAccept, schedule.EventCancel, "ring"} {
		if _, err := f.svc.System(ctx, c.ID, ev, "west"); !errors.Is(err, ErrInvalid) {
			t.Errorf("system %s: %v", ev, err)
		}
	}
	f.now = t0.Add(time.Minute)
	live, err := f.svc.System(ctx, c.ID, schedule.EventStart, "west")
	if err != nil || live.State != schedule.StateLive || live.History[2].ByName != SystemName || live.History[2].BySide != "west" {
		t.Fatalf("system start: %+v, %v", live, err)
	}
	f.now = t0.Add(2 * time.Minute)
	again, err := f.svc.System(ctx, c.ID, schedule.EventStart, "east")
	if err != nil || again.Version != live.Version || !again.ActualStart.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second system start: %+v, %v", again, err)
	}
	ended, err := f.svc.System(ctx, c.ID, schedule.EventEnd, "east")
	if err != nil || ended.State != schedule.StateEnded {
		t.Fatalf("system end: %+v, %v", ended, err)
	}
	if again, err := f.svc.System(ctx, c.ID, schedule.EventEnd, "west"); err != nil || again.Version != ended.Version {
		t.Fatalf("second system end: %+v, %v", again, err)
	}
	if _, err := f.svc.System(ctx, "c-aaaaaaaaaaaa", schedule.EventStart, "west"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("system start of an unknown call: %v", err)
	}
}

// Two operators accepting at once: one wins, the other gets ErrConflict,
// and the call has one accept.
func TestConcurrentAccept(t *testing.T) {
	f := newFixture(t)
	c := f.request(eastOperator, request())
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.do(westOperator, c.ID, schedule.EventAccept, api.Transition{})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrConflict):
			t.Errorf("loser: %v, want ErrConflict", err)
		}
	}
	if got := f.load(c.ID); ok != 1 || got.Version != 2 || len(got.History) != 2 {
		t.Fatalf("%d accepts won; call %+v", ok, got)
	}
}

func TestHistoryAttendance(t *testing.T) {
	f := newFixture(t)
	c := f.request(eastOperator, request())
	f.must(westOperator, c.ID, schedule.EventAccept, api.Transition{})
	f.must(westOperator, c.ID, schedule.EventStart, api.Transition{})
	ctx := context.Background()
	for _, err := range []error{
		f.st.Joined(ctx, LiveName("demo", c.ID), "p1", "East Principal", t0),
		f.st.Joined(ctx, LiveName("demo", c.ID), "p2", "West Principal", t0.Add(time.Second)),
		f.st.Joined(ctx, "demo/unrelated", "p3", "Someone Else", t0),
		f.st.Left(ctx, "p1", t0.Add(time.Minute)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	f.now = t0.Add(time.Hour)
	f.must(eastPrincipal, c.ID, schedule.EventEnd, api.Transition{})
	_, past, err := f.svc.History(context.Background(), westPrincipal, "demo")
	if err != nil || len(past) != 1 {
		t.Fatalf("history: %+v, %v", past, err)
	}
	att := past[0].Attendance
	if len(att) != 2 || att[0].Name != "East Principal" || att[0].Left.IsZero() || att[1].Name != "West Principal" {
		t.Fatalf("attendance %+v", att)
	}
	j := past[0].API(f.now)
	if len(j.Sessions) != 2 || j.Sessions[0].Left == nil || j.Sessions[1].Left != nil || *j.ActualSeconds != 3600 {
		t.Fatalf("history JSON %+v", j)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if err := validID(id); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("%s twice", id)
		}
		seen[id] = true
	}
}

func validID(id string) error {
	if len(id) != len(IDPrefix)+idChars || id[:2] != IDPrefix {
		return errors.New("id " + id + ": want c- and 12 characters")
	}
	for _, c := range id[2:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return errors.New("id " + id + ": not lower-case base32")
		}
	}
	return nil
}
