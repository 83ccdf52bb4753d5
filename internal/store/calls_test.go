package store

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// withLine opens a store in a temporary folder with the sides east and west
// and the line demo between them.
func withLine(t *testing.T) *Store {
	s, _ := withLineIn(t)
	return s
}

// withLineIn is withLine that also returns the data folder.
func withLineIn(t *testing.T) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i, side := range []Side{{Name: "east", TimeZone: "Europe/Moscow"}, {Name: "west", TimeZone: "America/New_York"}} {
		side.AuthorityKey = bytes.Repeat([]byte{byte(i + 1)}, 32)
		if err := s.AddSide(ctx, side); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddLine(ctx, "demo", "east", "west"); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

var callT0 = time.Date(2026, 11, 21, 6, 0, 0, 123e6, time.UTC)

// requested is a call as booking would hand it to AddCall.
func requested(id string, start time.Time) Call {
	return Call{
		ID: id, Line: "demo", Kind: "video", InitiatingSide: "east", State: "requested",
		ScheduledStart: start, Duration: 90 * time.Minute,
		Agenda: []string{"Opening", "Grain, Black Sea; 黑海"},
		Participants: []CallParticipant{
			{Side: "east", Name: "East Principal", Roles: []string{"principal"}},
			{Side: "east", Name: "East Adviser", Roles: []string{"adviser", "interpreter"}, Interprets: []string{"ru", "en"}},
		},
		Transitions: []CallTransition{{From: "", To: "requested", Event: "request", BySide: "east", ByName: "East Operator", At: callT0}},
	}
}

func accept(at time.Time) CallUpdate {
	return CallUpdate{
		Transition:   CallTransition{From: "requested", To: "accepted", Event: "accept", BySide: "west", ByName: "West Operator", At: at},
		Participants: []CallParticipant{{Side: "west", Name: "West Principal", Roles: []string{"principal"}}},
	}
}

func TestCallRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, dir := withLineIn(t)
	if v, _ := s.SchemaVersion(ctx); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	in := requested("c-aaaaaaaaaaaa", time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC))
	in.Languages = []string{"ru", "en"}
	if err := s.AddCall(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Call(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Created.IsZero() {
		t.Errorf("version %d, created %v", got.Version, got.Created)
	}
	want := in
	want.Version, want.Created = got.Version, got.Created
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
	}

	v, err := s.UpdateCall(ctx, in.ID, 1, accept(callT0.Add(time.Minute)))
	if err != nil || v != 2 {
		t.Fatalf("accept: version %d, %v", v, err)
	}
	start := callT0.Add(2 * time.Minute)
	live := CallUpdate{Transition: CallTransition{From: "accepted", To: "live", Event: "start", BySide: "west", ByName: "hotline", At: start}, ActualStart: start}
	if v, err = s.UpdateCall(ctx, in.ID, 2, live); err != nil || v != 3 {
		t.Fatalf("start: version %d, %v", v, err)
	}
	got, _ = s.Call(ctx, in.ID)
	if got.State != "live" || got.Version != 3 || !got.ActualStart.Equal(start) || !got.ActualEnd.IsZero() {
		t.Fatalf("after start: %+v", got)
	}
	if len(got.Transitions) != 3 || got.Transitions[2].ByName != "hotline" || !got.Transitions[1].At.Equal(callT0.Add(time.Minute)) {
		t.Fatalf("transitions %+v", got.Transitions)
	}
	if len(got.Participants) != 3 || got.Participants[2].Name != "West Principal" || got.Participants[2].Side != "west" {
		t.Fatalf("participants %+v", got.Participants)
	}
	if !slices.Equal(got.Participants[1].Interprets, []string{"ru", "en"}) || got.Participants[0].Interprets != nil || got.Participants[2].Interprets != nil {
		t.Errorf("an interpreter's languages read back as %+v", got.Participants)
	}

	if _, err := s.Call(ctx, "c-nothinghere"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown call: %v", err)
	}

	// The call outlives the process: a reopened store reads it back whole.
	s.Close()
	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.Call(ctx, in.ID)
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("after reopening: %+v, %v", again, err)
	}
}

// withCall is withLine with one call requested, an hour after callT0.
func withCall(t *testing.T, id string) (*Store, Call) {
	t.Helper()
	s := withLine(t)
	c := requested(id, callT0.Add(time.Hour))
	if err := s.AddCall(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestAddCallRefusals(t *testing.T) {
	ctx := context.Background()
	s, c := withCall(t, "c-bbbbbbbbbbbb")
	other := requested(c.ID, callT0.Add(5*time.Hour))
	other.Kind = "phone"
	if err := s.AddCall(ctx, other); !errors.Is(err, ErrExists) {
		t.Fatalf("same id again: %v", err)
	}
	if got, _ := s.Call(ctx, c.ID); got.Kind != "video" || !got.ScheduledStart.Equal(c.ScheduledStart) {
		t.Fatalf("the first call was overwritten: %+v", got)
	}
	for name, edit := range map[string]func(*Call){
		"unknown line":      func(c *Call) { c.Line = "nowhere" },
		"unknown kind":      func(c *Call) { c.Kind = "telegram" },
		"unknown state":     func(c *Call) { c.State = "ringing" },
		"no transition":     func(c *Call) { c.Transitions = nil },
		"named twice":       func(c *Call) { c.Participants = append(c.Participants, c.Participants[0]) },
		"unknown side":      func(c *Call) { c.Participants[0].Side = "north" },
		"zero minutes long": func(c *Call) { c.Duration = 30 * time.Second },
	} {
		bad := requested("c-cccccccccccc", callT0.Add(time.Hour))
		edit(&bad)
		if err := s.AddCall(ctx, bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
		// A refused call leaves nothing behind: not the call, not a
		// participant, not a transition.
		if _, err := s.Call(ctx, bad.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: call stored: %v", name, err)
		}
		assertRows(t, s, "call_participants", bad.ID, 0)
		assertRows(t, s, "call_transitions", bad.ID, 0)
	}
}

func assertRows(t *testing.T, s *Store, table, id string, want int) {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE call = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("%s has %d rows of call %s, want %d", table, n, id, want)
	}
}

// A stale update fails with ErrConflict and writes nothing: not the state,
// not the transition, not its participants.
func TestUpdateCallStale(t *testing.T) {
	ctx := context.Background()
	s, c := withCall(t, "c-dddddddddddd")
	if _, err := s.UpdateCall(ctx, c.ID, 1, accept(callT0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	decline := CallUpdate{Transition: CallTransition{From: "requested", To: "declined", Event: "decline", BySide: "west", ByName: "West Principal", At: callT0.Add(2 * time.Minute)}}
	if _, err := s.UpdateCall(ctx, c.ID, 1, decline); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale version: %v, want ErrConflict", err)
	}
	// The right version but a state it is no longer in is a conflict too.
	if _, err := s.UpdateCall(ctx, c.ID, 2, decline); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale state: %v, want ErrConflict", err)
	}
	if _, err := s.UpdateCall(ctx, "c-nothinghere", 1, decline); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown call: %v, want ErrNotFound", err)
	}
	// Naming someone already named rolls the whole transition back.
	cancel := CallUpdate{
		Transition:   CallTransition{From: "accepted", To: "cancelled", Event: "cancel", BySide: "west", ByName: "West Principal", At: callT0.Add(3 * time.Minute)},
		Participants: []CallParticipant{{Side: "west", Name: "West Principal", Roles: []string{"principal"}}},
	}
	if _, err := s.UpdateCall(ctx, c.ID, 2, cancel); !errors.Is(err, ErrExists) {
		t.Fatalf("participant named twice: %v, want ErrExists", err)
	}
	got, _ := s.Call(ctx, c.ID)
	if got.State != "accepted" || got.Version != 2 || len(got.Transitions) != 2 || len(got.Participants) != 3 {
		t.Fatalf("refused updates changed the call: %+v", got)
	}
}

// Of many updates racing from the same version, exactly one wins; the
// others get ErrConflict and leave no trace.
func TestUpdateCallConcurrent(t *testing.T) {
	ctx := context.Background()
	s, c := withCall(t, "c-eeeeeeeeeeee")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := accept(callT0.Add(time.Duration(i+1) * time.Second))
			u.Transition.ByName = "West Operator " + string(rune('A'+i))
			u.Participants[0].Name = u.Transition.ByName
			_, errs[i] = s.UpdateCall(ctx, c.ID, 1, u)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("updates %d and %d both won", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, ErrConflict):
			t.Errorf("update %d: %v, want ErrConflict", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no update won")
	}
	got, _ := s.Call(ctx, c.ID)
	winner := "West Operator " + string(rune('A'+won))
	if got.Version != 2 || len(got.Transitions) != 2 || got.Transitions[1].ByName != winner ||
		len(got.Participants) != 3 || got.Participants[2].Name != winner {
		t.Fatalf("after the race: %+v", got)
	}
}

func TestCallsQuery(t *testing.T) {
	ctx := context.Background()
	s := withLine(t)
	ids := []string{"c-late", "c-early", "c-middle", "c-done"}
	starts := []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour, 30 * time.Minute}
	for i, id := range ids {
		c := requested(id, callT0.Add(starts[i]))
		if id == "c-done" {
			c.State = "cancelled"
		}
		if err := s.AddCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	names := func(cs []Call) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	up, err := s.Calls(ctx, CallQuery{Line: "demo", States: []string{"requested", "accepted", "live"}})
	if err != nil || !reflect.DeepEqual(names(up), []string{"c-early", "c-middle", "c-late"}) {
		t.Fatalf("upcoming: %v, %v", names(up), err)
	}
	if len(up[0].Participants) != 2 || len(up[0].Transitions) != 1 {
		t.Fatalf("details not loaded: %+v", up[0])
	}
	newest, _ := s.Calls(ctx, CallQuery{Line: "demo", States: []string{"requested", "cancelled"}, Newest: true, Limit: 2})
	if !reflect.DeepEqual(names(newest), []string{"c-late", "c-middle"}) {
		t.Fatalf("newest two: %v", names(newest))
	}
	if none, err := s.Calls(ctx, CallQuery{Line: "other", States: []string{"requested"}}); err != nil || len(none) != 0 {
		t.Fatalf("other line: %v, %v", none, err)
	}
	if _, err := s.Calls(ctx, CallQuery{Line: "demo"}); err == nil {
		t.Fatal("a query without states accepted")
	}
}
