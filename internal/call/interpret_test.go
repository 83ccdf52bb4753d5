package call

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"hotline/internal/protocol"
	"hotline/internal/role"
)

// holds replays m's subscribe/unsubscribe events: the tracks routed to it now.
func (m *member) holds() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, ev := range m.events {
		switch {
		case strings.HasPrefix(ev, "+"):
			out = append(out, ev[1:])
		case strings.HasPrefix(ev, "-"):
			out = slices.DeleteFunc(out, func(s string) bool { return s == ev[1:] })
		}
	}
	slices.Sort(out)
	return out
}

func (m *member) entry(id string) protocol.RosterEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.roster {
		if e.ID == id {
			return e
		}
	}
	return protocol.RosterEntry{}
}

// interpCall: an operator, a principal with a microphone, two listeners
// and named interpreters (in at once), in a call with languages en and ru.
type interpCall struct {
	c                           *Call
	op, pr, lisEn, lisRu, floor *member
	en1, en2, ru1               *member
}

func newInterpCall(t *testing.T) *interpCall {
	t.Helper()
	r := NewRegistry(Config{})
	named := Admission{Named: true}
	ic := &interpCall{
		op:    &member{id: "op", name: "Op", roles: []role.Role{role.Operator}},
		pr:    &member{id: "pr", name: "Pr"},
		lisEn: &member{id: "len", name: "LisEn", roles: []role.Role{role.Adviser}, adm: Admission{Named: true}},
		lisRu: &member{id: "lru", name: "LisRu"},
		floor: &member{id: "fl", name: "Floor"},
		en1:   &member{id: "en1", name: "En1", roles: []role.Role{role.Interpreter}, adm: named},
		en2:   &member{id: "en2", name: "En2", roles: []role.Role{role.Interpreter}, adm: named},
		ru1:   &member{id: "ru1", name: "Ru1", roles: []role.Role{role.Interpreter}, adm: named},
	}
	ic.lisEn.roles = []role.Role{role.Principal} // in at once
	var err error
	if ic.c, err = join(r, "x", ic.op); err != nil {
		t.Fatal(err)
	}
	if err := ic.c.SetInterpretation("op", []string{"en", "ru"}, protocol.ModeSimultaneous); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*member{ic.pr, ic.lisEn, ic.lisRu, ic.floor, ic.en1, ic.en2, ic.ru1} {
		if _, err := join(r, "x", m); err != nil {
			t.Fatal(err)
		}
		if got := m.entry(m.id).State; got != protocol.StateIn {
			t.Fatalf("%s is %q, want in (a named interpreter goes straight to its booth)", m.id, got)
		}
	}
	must(t, ic.c.Publish("pr", protocol.TrackInfo{ID: "mic", Kind: "audio", Source: "mic"}, track("pr.mic")))
	for _, s := range []struct{ id, lang string }{{"en1", "en"}, {"en2", "en"}, {"ru1", "ru"}} {
		ch := []protocol.TrackInfo{{ID: "ch", Kind: "audio", Source: protocol.SourceInterpretation, Language: s.lang}}
		must(t, ic.c.CheckChannels(s.id, ch))
		must(t, ic.c.Publish(s.id, ch[0], track(s.id+".ch")))
	}
	must(t, ic.c.Listen("len", "en"))
	must(t, ic.c.Listen("lru", "ru"))
	return ic
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantHolds(t *testing.T, m *member, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := m.holds(); !slices.Equal(got, want) {
		t.Errorf("%s receives %v, want %v", m.id, got, want)
	}
}

// TestInterpretationChannels: listeners of a language receive the floor
// and that channel's live microphone only; interpreters hear the floor;
// the roster says who interprets what.
func TestInterpretationChannels(t *testing.T) {
	ic := newInterpCall(t)
	wantHolds(t, ic.lisEn, "pr.mic", "en1.ch")
	wantHolds(t, ic.lisRu, "pr.mic", "ru1.ch")
	wantHolds(t, ic.floor, "pr.mic")
	wantHolds(t, ic.en1, "pr.mic")
	wantHolds(t, ic.en2, "pr.mic")
	wantHolds(t, ic.ru1, "pr.mic")
	wantHolds(t, ic.op) // an operator receives no media
	e := ic.floor.entry("en1")
	if e.Interprets != "en" || !e.Live || e.Tracks[0].Language != "en" || e.Tracks[0].Source != protocol.SourceInterpretation {
		t.Errorf("roster of en1: %+v", e)
	}
	if e := ic.floor.entry("en2"); e.Interprets != "en" || e.Live {
		t.Errorf("roster of en2 (standby): %+v", e)
	}
	if e := ic.floor.entry("len"); e.Listening != "en" {
		t.Errorf("roster of the en listener: %+v", e)
	}
	// Back to the floor: the channel stops.
	must(t, ic.c.Listen("len", protocol.ListenFloor))
	wantHolds(t, ic.lisEn, "pr.mic")
}

// TestInterpretationRefusals: what the server refuses, and that a refusal
// changes nothing.
func TestInterpretationRefusals(t *testing.T) {
	ic := newInterpCall(t)
	before := ic.floor.got()
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"an interpreter into another channel", ic.c.Publish("en1", protocol.TrackInfo{ID: "ch2", Kind: "audio", Source: protocol.SourceInterpretation, Language: "ru"}, track("x")), ErrForbidden},
		{"an interpreter into another booth", ic.c.Interpret("en1", "ru"), ErrForbidden},
		{"a principal into a booth", ic.c.Interpret("pr", "en"), ErrForbidden},
		{"an unknown language (booth)", ic.c.Interpret("en1", "fr"), ErrUnknownLanguage},
		{"an unknown language (listen)", ic.c.Listen("pr", "fr"), ErrUnknownLanguage},
		{"relaying one's own channel", ic.c.Listen("en1", "en"), ErrForbidden},
		{"a third interpreter in a booth", ic.c.Interpret("ru1", "en"), ErrForbidden},
		{"a principal sets languages? yes; an interpreter no", ic.c.SetInterpretation("en1", []string{"en"}, protocol.ModeSimultaneous), ErrForbidden},
		{"dropping a language with a booth", ic.c.SetInterpretation("op", []string{"en"}, protocol.ModeSimultaneous), ErrWrongState},
		{"standby hands over", ic.c.HandOver("en2"), ErrWrongState},
		{"taking without a hand-over", ic.c.TakeOver("en2"), ErrWrongState},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if after := ic.floor.got(); after != before {
		t.Errorf("a refusal changed routing: %s → %s", before, after)
	}
	// Static checks: a principal's track labelled as a channel, or video
	// into a channel, never gets that far.
	if _, err := CheckTracks([]role.Role{role.Principal}, KindVideo, []protocol.TrackInfo{{ID: "m", Kind: "audio", Source: protocol.SourceInterpretation}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("principal into a channel: %v", err)
	}
	if _, err := CheckTracks([]role.Role{role.Interpreter}, KindVideo, []protocol.TrackInfo{{ID: "v", Kind: "video", Language: "en"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("video into a channel: %v", err)
	}
	// A third interpreter refused for a full booth, not another one.
	third := &member{id: "en3", name: "En3", roles: []role.Role{role.Interpreter}, adm: Admission{Named: true}}
	if _, err := join(ic.c.reg, "x", third); err != nil {
		t.Fatal(err)
	}
	if err := ic.c.Interpret("en3", "en"); !errors.Is(err, ErrBoothFull) {
		t.Errorf("third in the en booth: %v", err)
	}
}

// TestHandOver: the live microphone passes only when offered and taken;
// listeners receive exactly one of the booth's tracks throughout.
func TestHandOver(t *testing.T) {
	ic := newInterpCall(t)
	must(t, ic.c.HandOver("en1"))
	wantHolds(t, ic.lisEn, "pr.mic", "en1.ch") // offered, not yet taken
	if !ic.en2.entry("en1").HandOver {
		t.Error("the partner does not see the request")
	}
	must(t, ic.c.TakeOver("en2"))
	wantHolds(t, ic.lisEn, "pr.mic", "en2.ch")
	if e := ic.floor.entry("en1"); e.Live || e.HandOver {
		t.Errorf("en1 after the hand-over: %+v", e)
	}
	// The live one leaves: the partner takes the channel at once.
	ic.c.Leave("en2")
	wantHolds(t, ic.lisEn, "pr.mic", "en1.ch")
	if !ic.floor.entry("en1").Live {
		t.Error("en1 is not live after its partner left")
	}
}

// TestHandOverRace: hand-overs and take-overs from both interpreters of a
// booth at once never leave it with two live microphones or none.
func TestHandOverRace(t *testing.T) {
	ic := newInterpCall(t)
	for round := 0; round < 50; round++ {
		var wg sync.WaitGroup
		for _, id := range []string{"en1", "en2"} {
			wg.Go(func() {
				_ = ic.c.HandOver(id)
				_ = ic.c.TakeOver(id)
			})
		}
		wg.Wait()
		seated, live := 0, 0
		for _, e := range ic.c.Roster().Participants {
			if e.Interprets == "en" {
				seated++
				if e.Live {
					live++
				}
			}
		}
		if seated != 2 || live != 1 {
			t.Fatalf("round %d: %d seated, %d live", round, seated, live)
		}
		got := ic.lisEn.holds()
		n := 0
		for _, tr := range got {
			if strings.HasSuffix(tr, ".ch") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: the en listener receives %v", round, got)
		}
	}
}

// TestRelayAndMode: an interpreter relaying a channel receives it instead
// of the floor; consecutive mode sends every channel to everyone.
func TestRelayAndMode(t *testing.T) {
	ic := newInterpCall(t)
	must(t, ic.c.Listen("ru1", "en"))
	wantHolds(t, ic.ru1, "en1.ch")
	must(t, ic.c.Listen("ru1", protocol.ListenFloor))
	wantHolds(t, ic.ru1, "pr.mic")

	must(t, ic.c.SetInterpretation("op", []string{"en", "ru"}, protocol.ModeConsecutive))
	wantHolds(t, ic.floor, "pr.mic", "en1.ch", "ru1.ch")
	wantHolds(t, ic.lisEn, "pr.mic", "en1.ch", "ru1.ch")
	wantHolds(t, ic.en2, "pr.mic", "en1.ch", "ru1.ch")
	if langs, mode := ic.c.Interpretation(); mode != protocol.ModeConsecutive || len(langs) != 2 {
		t.Errorf("interpretation: %v %s", langs, mode)
	}
	must(t, ic.c.SetInterpretation("op", []string{"en", "ru"}, protocol.ModeSimultaneous))
	wantHolds(t, ic.floor, "pr.mic")
	wantHolds(t, ic.lisRu, "pr.mic", "ru1.ch")
}

// TestBookedInterpreterLanguages: an interpreter the booking names with
// languages (NAME=interpreter:LANG[+LANG]) may take only those booths: any
// other is refused with an error naming its languages, and nothing changes
// (no booth, no roster entry, no routing); one named without languages may
// take any of the call's.
func TestBookedInterpreterLanguages(t *testing.T) {
	ic := newInterpCall(t)
	must(t, ic.c.SetInterpretation("op", []string{"en", "ru", "fr"}, protocol.ModeSimultaneous))
	onlyFr := &member{id: "fr1", name: "Fr1", roles: []role.Role{role.Interpreter}, adm: Admission{Named: true, Interprets: []string{"fr"}}}
	anyLang := &member{id: "any", name: "Any", roles: []role.Role{role.Interpreter}, adm: Admission{Named: true}}
	for _, m := range []*member{onlyFr, anyLang} {
		if _, err := join(ic.c.reg, "x", m); err != nil {
			t.Fatal(err)
		}
	}
	before := ic.floor.got()
	err := ic.c.Interpret("fr1", "ru")
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "fr only") || !strings.Contains(err.Error(), `"ru"`) {
		t.Errorf("fr1 into the ru booth: %v, want forbidden naming fr and ru", err)
	}
	ch := []protocol.TrackInfo{{ID: "ch", Kind: "audio", Source: protocol.SourceInterpretation, Language: "en"}}
	if err := ic.c.CheckChannels("fr1", ch); !errors.Is(err, ErrForbidden) {
		t.Errorf("fr1 publishing into en: %v, want forbidden", err)
	}
	if e := ic.floor.entry("fr1"); e.Interprets != "" || ic.floor.got() != before {
		t.Errorf("a refused booth changed the call: roster %+v, routing %s → %s", e, before, ic.floor.got())
	}
	must(t, ic.c.Interpret("fr1", "fr"))
	must(t, ic.c.Interpret("any", "ru"))
	rosterSays := func(id, want string) {
		t.Helper()
		if e := ic.floor.entry(id); e.Interprets != want {
			t.Errorf("roster of %s interprets %q, want %q", id, e.Interprets, want)
		}
	}
	rosterSays("fr1", "fr")
	rosterSays("any", "ru")
}
