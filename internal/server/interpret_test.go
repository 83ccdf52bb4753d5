package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/servertest"
)

// channelFrom sums what c decrypted of participant id's tracks, and says
// whether any of them is an interpretation channel in lang.
func channelFrom(c *client.Client, id, lang string) (decrypted uint64, labelled bool) {
	for _, tr := range c.Stats().Tracks {
		if tr.Participant != id || tr.Ended {
			continue
		}
		decrypted += tr.Decrypted
		labelled = labelled || tr.Source == protocol.SourceInterpretation && tr.Language == lang
	}
	return decrypted, labelled
}

// receivesOnly checks that c receives (live, decrypting) exactly the
// participants in want, among all, and nothing of the others.
func receivesOnly(c *client.Client, all map[string]*client.Client, want ...string) error {
	for name, o := range all {
		if o == c {
			continue
		}
		got := uint64(0)
		for _, tr := range c.Stats().Tracks {
			if tr.Participant == o.ID() && !tr.Ended {
				got += tr.Decrypted
			}
		}
		switch should := slices.Contains(want, name); {
		case should && got < 5:
			var seen []string
			for _, tr := range c.Stats().Tracks {
				seen = append(seen, fmt.Sprintf("%s/%s/%s:%d pk %d dec %d unk %d fail", tr.From, tr.Source, tr.Language, tr.Packets, tr.Decrypted, tr.UnknownKey, tr.DecryptFailed))
			}
			return fmt.Errorf("decrypted %d frames from %s; tracks %v", got, name, seen)
		case !should && got > 0:
			return fmt.Errorf("receives %s (%d frames), which it should not", name, got)
		}
	}
	return nil
}

// bookInterpreted books a call of kind on the demo line with the named
// people and languages, East Principal asking and West Principal accepting,
// and returns its id.
func bookInterpreted(ctx context.Context, t *testing.T, l *e2eeLine, kind schedule.Kind, named []api.Person, langs ...string) string {
	t.Helper()
	svc := booking.New(l.srv.Store())
	east := booking.Caller{Line: demo.Line, Side: demo.East, Name: "East Principal", Roles: []role.Role{role.Principal}}
	west := booking.Caller{Line: demo.Line, Side: demo.West, Name: "West Principal", Roles: []role.Role{role.Principal}}
	bc, _, err := svc.Request(ctx, east, api.Request{Line: demo.Line, Kind: kind, When: "now", Duration: time.Hour,
		Named: named, Languages: langs})
	if err != nil {
		t.Fatal(err)
	}
	if got := bc.API(time.Now()).Languages; !slices.Equal(got, langs) {
		t.Fatalf("the booked call's languages: %v, want %v", got, langs)
	}
	if _, err := svc.Transition(ctx, west, bc.ID, schedule.EventAccept, api.Transition{}); err != nil {
		t.Fatal(err)
	}
	return bc.ID
}

// TestInterpretationEndToEnd (issue "Interpretation"): in a call booked
// with the languages en and ru, interpreters named on the
// call go straight to their booths and publish their channels; a listener
// of en receives the floor and the en channel, not the ru one; a listener
// of ru the reverse; a listener of the floor neither channel; interpreters
// the floor; everything decrypted. Then relay, consecutive mode (the
// operator switches it), and the
// refusals (an unknown language, a principal into a channel).
func TestInterpretationEndToEnd(t *testing.T) {
	l := startE2EELine(t)
	interp := []role.Role{role.Interpreter}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	id := bookInterpreted(ctx, t, l, schedule.Video, []api.Person{{Name: "En Interpreter", Roles: interp}, {Name: "Ru Interpreter", Roles: interp}}, "en", "ru")

	// The live call opens with the booked languages.
	op := l.joinAs(id, demo.East, "East Operator", []role.Role{role.Operator}, func(c *client.Config) { c.Publish = false })
	servertest.Eventually(t, "the call's languages", func() error {
		if langs, mode := op.Interpretation(); !slices.Equal(langs, []string{"en", "ru"}) || mode != protocol.ModeSimultaneous {
			return fmt.Errorf("languages %v, mode %q", langs, mode)
		}
		return nil
	})
	audio := func(lang string) func(*client.Config) {
		return func(c *client.Config) { c.AudioOnly, c.Listen = true, lang }
	}
	alice := l.joinAs(id, demo.East, "East Principal", []role.Role{role.Principal}, audio("ru"))
	walt := l.joinAs(id, demo.West, "West Principal", []role.Role{role.Principal}, audio("en"))
	floor := l.joinAs(id, demo.West, "West Deputy", []role.Role{role.Principal}, func(c *client.Config) { c.Publish = false })
	en := l.joinAs(id, demo.East, "En Interpreter", interp, func(c *client.Config) { c.Interpret = "en" })
	ru := l.joinAs(id, demo.East, "Ru Interpreter", interp, func(c *client.Config) { c.Interpret = "ru" })
	all := map[string]*client.Client{"alice": alice, "walt": walt, "floor": floor, "en": en, "ru": ru, "op": op}

	want := map[*client.Client][]string{
		walt:  {"alice", "en"}, // listens to en
		alice: {"walt", "ru"},  // listens to ru
		floor: {"alice", "walt"},
		en:    {"alice", "walt"},
		ru:    {"alice", "walt"},
		op:    nil, // an operator receives no media
	}
	check := func(what string) {
		t.Helper()
		servertest.Eventually(t, what, func() error {
			for name, c := range all {
				if err := receivesOnly(c, all, want[c]...); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			return nil
		})
	}
	check("each receives the floor and the channel it picked, decrypted")
	if _, ok := channelFrom(walt, en.ID(), "en"); !ok {
		t.Error("the en channel is not labelled interpretation/en at its listener")
	}
	for _, e := range alice.Roster() {
		if e.ID == en.ID() && (e.Interprets != "en" || !e.Live || e.State != protocol.StateIn) {
			t.Errorf("roster entry of the en interpreter: %+v", e)
		}
	}

	// Relay: the ru interpreter works from the en channel instead of the floor.
	if err := ru.Listen(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	want[ru] = []string{"en"}
	check("relay: the en channel replaces the floor")

	// Consecutive: every channel to everyone, at full level.
	if err := op.SetInterpretation(ctx, []string{"en", "ru"}, protocol.ModeConsecutive); err != nil {
		t.Fatal(err)
	}
	want[floor] = []string{"alice", "walt", "en", "ru"}
	want[walt] = []string{"alice", "en", "ru"}
	want[alice] = []string{"walt", "en", "ru"}
	want[en] = []string{"alice", "walt", "ru"}
	want[ru] = []string{"en"}
	check("consecutive mode: every channel to everyone")

	// Refusals: a language the call lacks ends the join with an error that
	// names it; a principal's device cannot speak into a channel.
	for _, c := range []struct {
		name  string
		roles []role.Role
		lang  string
		code  string
		names string
	}{
		{"Fr Interpreter", interp, "fr", protocol.CodeForbidden, `"fr"`},
		{"East Deputy", []role.Role{role.Principal}, "en", protocol.CodeForbidden, "publish_interpretation"},
	} {
		dev := l.device(demo.East, c.name, c.roles...)
		_, err := client.Join(ctx, client.Config{Server: l.srv.URL(), Line: demo.Line, Call: id, Device: dev, Publish: true, Interpret: c.lang})
		var se *client.ServerError
		if !errors.As(err, &se) || se.Msg.Code != c.code || !strings.Contains(se.Msg.Message, c.names) {
			t.Errorf("%s into %s: %v, want %s naming %s", c.name, c.lang, err, c.code, c.names)
		}
	}
	// Nothing of the refused joins reached the roster.
	if n := len(op.Roster()); n != 6 {
		t.Errorf("roster of %d after the refusals, want 6", n)
	}
}

// TestBookedInterpreterBooth: an interpreter the booking names for some of
// the call's languages (NAME=interpreter:ru) is refused any other booth:
// its join ends with a forbidden error that names its languages and leaves
// no trace in the roster; into its own booth it joins and is seated there.
func TestBookedInterpreterBooth(t *testing.T) {
	l := startE2EELine(t)
	interp := []role.Role{role.Interpreter}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	id := bookInterpreted(ctx, t, l, schedule.Video, []api.Person{{Name: "Ru Interpreter", Roles: interp, Interprets: []string{"ru"}}}, "en", "ru")
	op := l.joinAs(id, demo.East, "East Operator", []role.Role{role.Operator}, func(c *client.Config) { c.Publish = false })

	dev := l.device(demo.East, "Ru Interpreter", interp...)
	_, err := client.Join(ctx, client.Config{Server: l.srv.URL(), Line: demo.Line, Call: id, Device: dev, Publish: true, Interpret: "en"})
	var se *client.ServerError
	if !errors.As(err, &se) || se.Msg.Code != protocol.CodeForbidden || !strings.Contains(se.Msg.Message, "ru only") || !strings.Contains(se.Msg.Message, `"en"`) {
		t.Fatalf("the ru interpreter into en: %v, want forbidden naming ru and en", err)
	}
	if n := len(op.Roster()); n != 1 {
		t.Errorf("roster of %d after the refusal, want the operator alone", n)
	}
	ru := l.joinAs(id, demo.East, "Ru Interpreter", interp, func(c *client.Config) { c.Interpret = "ru" })
	servertest.Eventually(t, "the ru interpreter in its booth", func() error {
		for _, e := range op.Roster() {
			if e.ID == ru.ID() && e.Interprets == "ru" && e.State == protocol.StateIn {
				return nil
			}
		}
		return fmt.Errorf("roster %+v", op.Roster())
	})
}

// TestPhoneCallInterpretation: a phone call (voice only) booked with the
// language en carries interpretation too: the named interpreter speaks
// into the en channel from its booth, a listener of en hears the other
// principal and the channel, a listener of the floor the other principal
// only; nobody publishes or receives video.
func TestPhoneCallInterpretation(t *testing.T) {
	l := startE2EELine(t)
	interp := []role.Role{role.Interpreter}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	id := bookInterpreted(ctx, t, l, schedule.Phone, []api.Person{{Name: "En Interpreter", Roles: interp}}, "en")
	voice := func(lang string) func(*client.Config) {
		return func(c *client.Config) { c.AudioOnly, c.Listen = true, lang }
	}
	alice := l.joinAs(id, demo.East, "East Principal", []role.Role{role.Principal}, voice(""))
	walt := l.joinAs(id, demo.West, "West Principal", []role.Role{role.Principal}, voice("en"))
	en := l.joinAs(id, demo.East, "En Interpreter", interp, func(c *client.Config) { c.Interpret = "en" })
	all := map[string]*client.Client{"alice": alice, "walt": walt, "en": en}
	want := map[*client.Client][]string{
		alice: {"walt"},
		walt:  {"alice", "en"},
		en:    {"alice", "walt"},
	}
	servertest.Eventually(t, "voice and the en channel, decrypted, as each picked", func() error {
		for name, c := range all {
			if err := receivesOnly(c, all, want[c]...); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	})
	if _, ok := channelFrom(walt, en.ID(), "en"); !ok {
		t.Error("the en channel is not labelled interpretation/en at its listener")
	}
	for name, c := range all {
		for _, tr := range c.Stats().Tracks {
			if tr.Kind != "audio" {
				t.Errorf("%s receives a %s track from %s in a phone call", name, tr.Kind, tr.From)
			}
		}
	}
}
