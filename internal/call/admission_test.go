package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"hotline/internal/protocol"
	"hotline/internal/role"
)

func states(c *Call) string {
	var out []string
	for _, e := range c.Roster().Participants {
		out = append(out, e.ID+":"+e.State)
	}
	return fmt.Sprint(out)
}

// TestLobbyAndBench: principals and operators are in at once, others wait
// in the lobby (a named adviser on the bench); nothing flows to or from a
// member who is not in; admitting, calling in and sending out move the
// media with the member; each action needs the role, the side and the
// state it expects, and a refusal changes nothing.
func TestLobbyAndBench(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 8})
	p := &member{id: "p", name: "P", side: "east", roles: []role.Role{role.Principal}}
	op := &member{id: "o", name: "O", side: "east", roles: []role.Role{role.Operator}}
	adv := &member{id: "a", name: "A", side: "east", roles: []role.Role{role.Adviser}, adm: Admission{Named: true}}
	guest := &member{id: "g", name: "G", side: "east", roles: []role.Role{role.Adviser}}
	west := &member{id: "w", name: "W", side: "west", roles: []role.Role{role.Principal}}
	c, _ := join(reg, "x", p)
	for _, m := range []*member{op, adv, guest, west} {
		if _, err := join(reg, "x", m); err != nil {
			t.Fatal(err)
		}
	}
	if got := states(c); got != "[p:in o:in a:bench g:waiting w:in]" {
		t.Fatalf("states on joining: %s", got)
	}
	for _, id := range []string{"p", "a", "g", "w"} {
		if err := c.Publish(id, protocol.TrackInfo{ID: "cam", Kind: "video"}, track(id+".cam")); err != nil {
			t.Fatal(err)
		}
	}
	// Only members in receive, only from members in; the operator receives
	// no media at all.
	want := map[*member]string{p: "[+w.cam]", op: "[]", adv: "[]", guest: "[]", west: "[+p.cam]"}
	for m, w := range want {
		if got := m.got(); got != w {
			t.Errorf("%s got %s, want %s", m.name, got, w)
		}
	}

	refusals := []struct {
		name  string
		do    func() error
		want  error
		actor string
	}{
		{"the guest admits itself", func() error { return c.Admit("g", "g") }, ErrForbidden, "g"},
		{"the west principal admits an east guest", func() error { return c.Admit("w", "g") }, ErrForbidden, "w"},
		{"the principal calls in the lobby guest", func() error { return c.CallIn("p", "g") }, ErrWrongState, "p"},
		{"the principal admits the bench adviser", func() error { return c.Admit("p", "a") }, ErrWrongState, "p"},
		{"the principal sends out the operator", func() error { return c.SendOut("p", "o") }, ErrForbidden, "p"},
		{"the principal sends out the bench adviser", func() error { return c.SendOut("p", "a") }, ErrWrongState, "p"},
		{"the adviser calls itself in", func() error { return c.CallIn("a", "a") }, ErrForbidden, "a"},
	}
	before := states(c)
	for _, r := range refusals {
		err := r.do()
		if !errors.Is(err, r.want) {
			t.Errorf("%s: %v, want %v", r.name, err, r.want)
		}
		// The message says "not allowed" once (PROTOCOL.md's error text).
		if errors.Is(err, ErrForbidden) && strings.Count(err.Error(), "not allowed") > 1 {
			t.Errorf("%s: %q", r.name, err)
		}
	}
	if got := states(c); got != before {
		t.Fatalf("refusals changed the states: %s", got)
	}

	if err := c.Admit("o", "g"); err != nil { // the operator admits
		t.Fatal(err)
	}
	if err := c.CallIn("p", "a"); err != nil {
		t.Fatal(err)
	}
	if got := states(c); got != "[p:in o:in a:in g:in w:in]" {
		t.Fatalf("after admitting and calling in: %s", got)
	}
	if got := adv.got(); got != "[+p.cam +g.cam +w.cam]" {
		t.Errorf("the called-in adviser got %s", got)
	}
	if got := west.got(); got != "[+p.cam +g.cam +a.cam]" {
		t.Errorf("the west principal got %s", got)
	}
	if err := c.SendOut("p", "a"); err != nil {
		t.Fatal(err)
	}
	if got := adv.got(); got != "[+p.cam +g.cam +w.cam -p.cam -g.cam -w.cam]" {
		t.Errorf("the adviser sent out got %s", got)
	}
	if got := west.got(); got != "[+p.cam +g.cam +a.cam -a.cam]" {
		t.Errorf("the west principal got %s", got)
	}
	if got := op.got(); got != "[]" {
		t.Errorf("the operator received media: %s", got)
	}
}

// TestCheckTracks: what each role may publish, and a phone call's voice only.
func TestCheckTracks(t *testing.T) {
	mic := protocol.TrackInfo{ID: "mic", Kind: protocol.KindAudio, Source: "mic"}
	cam := protocol.TrackInfo{ID: "cam", Kind: protocol.KindVideo, Source: "camera"}
	cases := []struct {
		roles  []role.Role
		kind   string
		tracks []protocol.TrackInfo
		want   error
	}{
		{[]role.Role{role.Principal}, KindVideo, []protocol.TrackInfo{mic, cam}, nil},
		{[]role.Role{role.Principal}, KindPhone, []protocol.TrackInfo{mic}, nil},
		{[]role.Role{role.Principal}, KindPhone, []protocol.TrackInfo{mic, cam}, ErrPhoneCall},
		{[]role.Role{role.Monitor}, KindVideo, []protocol.TrackInfo{mic}, ErrForbidden},
		{[]role.Role{role.Monitor}, KindVideo, nil, nil},
		{[]role.Role{role.Press}, KindVideo, []protocol.TrackInfo{cam}, ErrForbidden},
		{[]role.Role{role.Operator}, KindVideo, []protocol.TrackInfo{mic}, ErrForbidden},
		{[]role.Role{role.Interpreter}, KindVideo, []protocol.TrackInfo{cam}, ErrForbidden},
		{[]role.Role{role.Interpreter}, KindVideo, []protocol.TrackInfo{mic}, nil},
	}
	for _, c := range cases {
		_, err := CheckTracks(c.roles, c.kind, c.tracks)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%v in a %s call publishing %v: %v, want %v", c.roles, c.kind, c.tracks, err, c.want)
		}
		if errors.Is(err, ErrForbidden) && (!errors.Is(err, role.ErrForbidden) || strings.Count(err.Error(), "not allowed") != 1) {
			t.Errorf("%v publishing %v: %q, want role.ErrForbidden and \"not allowed\" once", c.roles, c.tracks, err)
		}
	}
	out, _ := CheckTracks([]role.Role{role.Interpreter}, KindVideo, []protocol.TrackInfo{mic})
	if out[0].Source != "interpretation" {
		t.Errorf("an interpreter's audio is labelled %q", out[0].Source)
	}
}

// TestPhoneCallKind: every member of a call must join it as the same kind.
func TestPhoneCallKind(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 8})
	join(reg, "x", &member{id: "a", name: "A", adm: Admission{Kind: KindPhone}})
	if _, err := join(reg, "x", &member{id: "b", name: "B", adm: Admission{Kind: KindVideo}}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a video member joins a phone call: %v", err)
	}
}

// TestRejoinKeepsPlace: a device that joins again (its page lost the
// connection and rejoined under a new participant id) goes back to the
// place its side's last admission action gave it, not to the lobby or the
// bench; a removed device starts again from its join state. The joined
// event says why.
func TestRejoinKeepsPlace(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 8})
	sub := reg.Subscribe()
	p := &member{id: "p", name: "P", side: "east", roles: []role.Role{role.Principal}}
	guest := &member{id: "g", name: "G", side: "east", roles: []role.Role{role.Adviser}, device: "dg"}
	named := &member{id: "a", name: "A", side: "east", roles: []role.Role{role.Adviser}, adm: Admission{Named: true}, device: "da"}
	c, _ := join(reg, "x", p)
	for _, m := range []*member{guest, named} {
		if _, err := join(reg, "x", m); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Admit("p", "g"); err != nil {
		t.Fatal(err)
	}
	if err := c.CallIn("p", "a"); err != nil {
		t.Fatal(err)
	}
	rejoin := func(m *member, id string) *member {
		t.Helper()
		c.Leave(m.id) // the connection is lost; the page joins again
		again := &member{id: id, name: m.name, side: m.side, roles: m.roles, adm: m.adm, device: m.device}
		if _, err := join(reg, "x", again); err != nil {
			t.Fatal(err)
		}
		return again
	}
	rejoin(guest, "g2")
	named2 := rejoin(named, "a2")
	if got := states(c); got != "[p:in g2:in a2:in]" {
		t.Fatalf("after rejoining: %s, want both back in", got)
	}
	// Sent out, then back: the bench.
	if err := c.SendOut("p", "a2"); err != nil {
		t.Fatal(err)
	}
	rejoin(named2, "a3")
	// Removed, then back: the lobby, as for a first join.
	if err := c.Remove("p", "g2"); err != nil {
		t.Fatal(err)
	}
	if _, err := join(reg, "x", &member{id: "g3", name: "G", side: "east", roles: guest.roles, device: "dg"}); err != nil {
		t.Fatal(err)
	}
	if got := states(c); got != "[p:in a3:bench g3:waiting]" {
		t.Fatalf("after a send-out and a removal: %s", got)
	}
	sub.Close() // what was queued is still read, then ErrUnsubscribed
	var kept []string
	for {
		ev, err := sub.Next(context.Background())
		if err != nil {
			break
		}
		if ev.Kind == EventJoined && ev.Why == WhyKept {
			kept = append(kept, ev.Member.ID+":"+string(ev.To))
		}
	}
	if got := fmt.Sprint(kept); got != "[g2:in a2:in]" { // a3 joins on the bench anyway, as a named adviser
		t.Errorf("joined events that kept a place: %s", got)
	}
}
