package booking

import (
	"encoding/json"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/schedule"
)

// New York moves its clocks on 14 March 2027, Moscow never: the same
// Moscow time is an hour later in New York after the change, and both
// sides' times, offsets and abbreviations say so.
func TestViewAcrossOneSidedDST(t *testing.T) {
	f := newFixture(t)
	f.now = time.Date(2027, 3, 10, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		by                           Caller
		when                         string
		utc                          string
		east, eastOff, west, westOff string
		westAbbrev                   string
	}{
		{eastOperator, "at 2027-03-13 18:00", "2027-03-13T15:00:00Z", "2027-03-13T18:00:00", "+03:00", "2027-03-13T10:00:00", "-05:00", "EST"},
		{eastOperator, "at 2027-03-15 18:00", "2027-03-15T15:00:00Z", "2027-03-15T18:00:00", "+03:00", "2027-03-15T11:00:00", "-04:00", "EDT"},
		// West's own 10:00 on either side of its change.
		{westOperator, "at 2027-03-13 10:00", "2027-03-13T15:00:00Z", "2027-03-13T18:00:00", "+03:00", "2027-03-13T10:00:00", "-05:00", "EST"},
		{westOperator, "at 2027-03-15 10:00", "2027-03-15T14:00:00Z", "2027-03-15T17:00:00", "+03:00", "2027-03-15T10:00:00", "-04:00", "EDT"},
	}
	for _, tc := range cases {
		r := request()
		r.When = tc.when
		c := f.request(tc.by, r)
		j := c.API(f.now)
		st := j.ScheduledStart
		if st.UTC != tc.utc || len(st.Local) != 2 {
			t.Fatalf("%s by %s: %+v", tc.when, tc.by.Side, st)
		}
		e, w := st.Local[0], st.Local[1]
		if e.Side != "east" || e.Zone != "Europe/Moscow" || e.Time != tc.east || e.Offset != tc.eastOff || e.Abbrev != "MSK" {
			t.Errorf("%s by %s: east %+v", tc.when, tc.by.Side, e)
		}
		if w.Side != "west" || w.Zone != "America/New_York" || w.Time != tc.west || w.Offset != tc.westOff || w.Abbrev != tc.westAbbrev {
			t.Errorf("%s by %s: west %+v", tc.when, tc.by.Side, w)
		}
		if want := schedule.Describe(c.ScheduledStart, c.Line.A.Zone, c.Line.B.Zone); st.Text != want {
			t.Errorf("text %q, want %q", st.Text, want)
		}
	}
}

func TestCallJSON(t *testing.T) {
	f := newFixture(t)
	c := f.request(eastOperator, request())
	f.now = t0.Add(time.Minute)
	c = f.must(westOperator, c.ID, schedule.EventAccept, api.Transition{})
	f.now = t0.Add(2 * time.Minute)
	c = f.must(westOperator, c.ID, schedule.EventStart, api.Transition{})
	j := c.API(t0.Add(10 * time.Minute))
	if j.ID != c.ID || j.Line.Name != "demo" || len(j.Line.Sides) != 2 || j.Line.Sides[1].Zone != "America/New_York" ||
		j.Kind != "video" || j.State != "live" || j.InitiatingSide != "east" || j.DurationMinutes != 120 ||
		j.ScheduledEnd.UTC != "2026-11-21T17:00:00Z" || j.Version != 3 || j.ICS != "/calls/"+c.ID+".ics" {
		t.Fatalf("call JSON %+v", j)
	}
	if j.ActualStart == nil || j.ActualStart.UTC != "2026-11-21T06:02:00Z" || j.ActualEnd != nil || *j.ActualSeconds != 480 {
		t.Fatalf("actual times %+v %+v %v", j.ActualStart, j.ActualEnd, j.ActualSeconds)
	}
	if len(j.Participants["east"]) != 2 || j.Participants["west"] == nil || len(j.Participants["west"]) != 0 {
		t.Fatalf("participants %+v", j.Participants)
	}
	if len(j.Transitions) != 3 || j.Transitions[0].From != "" || j.Transitions[0].Event != "request" || j.Transitions[2].At.Local[0].Time != "2026-11-21T09:02:00" {
		t.Fatalf("transitions %+v", j.Transitions)
	}
	// Both sides are always present, even with nobody named.
	raw, _ := json.Marshal(j)
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if ps := back["participants"].(map[string]any); ps["west"] == nil {
		t.Fatalf("west missing from %s", raw)
	}
	if _, ok := back["sessions"]; ok {
		t.Fatalf("sessions outside the history: %s", raw)
	}
}
