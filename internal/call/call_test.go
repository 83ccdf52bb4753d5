package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/sfu"
)

// member records what the call tells it.
type member struct {
	id, name string
	device   string // "" is "dev-" + id
	side     string
	roles    []role.Role
	adm      Admission
	mu       sync.Mutex
	events   []string
	roster   []protocol.RosterEntry
}

// ident is the member's identity: principal unless roles say otherwise.
func (m *member) ident() Identity {
	id := Identity{ID: m.id, Name: m.name, Device: m.device, Side: m.side, Roles: m.roles, Admission: m.adm,
		Credential: protocol.Credential{Body: "body-" + m.id, Sig: "sig"}}
	if id.Device == "" {
		id.Device = "dev-" + m.id
	}
	if id.Roles == nil {
		id.Roles = []role.Role{role.Principal} // in at once, sends and receives
	}
	return id
}

func join(r *Registry, name string, m *member) (*Call, error) { return r.Join(name, m.ident(), m) }

func (m *member) Removed(by string)         { m.log("removed-by:" + by) }
func (m *member) Ended(by, why string)      { m.log("ended-by:" + by + ":" + why) }
func (m *member) DeliverKey(k protocol.Key) { m.log("key:" + k.From + ">" + fmt.Sprint(k.KID)) }
func (m *member) Subscribe(p Publication) {
	m.log("+" + p.Track.ID())
}
func (m *member) Unsubscribe(p Publication) { m.log("-" + p.Track.ID()) }
func (m *member) RosterChanged(r protocol.Roster) {
	m.mu.Lock()
	m.roster = r.Participants
	m.mu.Unlock()
}
func (m *member) log(s string) {
	m.mu.Lock()
	m.events = append(m.events, s)
	m.mu.Unlock()
}
func (m *member) got() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprint(m.events)
}

// drain returns the events queued at s so far, without waiting: the call
// delivers them before the action that caused them returns.
func drain(s *Subscription) []Event {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out []Event
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			return out
		}
		out = append(out, ev)
	}
}

// kinds sums events up as "kind:member" (just the kind for opened and closed).
func kinds(evs []Event) string {
	var out []string
	for _, ev := range evs {
		k := string(ev.Kind)
		if ev.Member.ID != "" && ev.Kind != EventClosed {
			k += ":" + ev.Member.ID
		}
		if ev.To != "" {
			k += ">" + string(ev.To)
		}
		out = append(out, k)
	}
	return fmt.Sprint(out)
}

func track(id string) *sfu.Track {
	return sfu.NewTrack(sfu.TrackConfig{ID: id})
}

func TestSubscriptionsFollowMembership(t *testing.T) {
	r := NewRegistry(Config{MaxMembers: 3})
	sub := r.Subscribe()
	a, b, c := &member{id: "a", name: "A"}, &member{id: "b", name: "B"}, &member{id: "c", name: "C"}
	ca, err := join(r, "x", a)
	if err != nil {
		t.Fatal(err)
	}
	ta := track("a.cam")
	if err := ca.Publish("a", protocol.TrackInfo{ID: "cam", Kind: "video"}, ta); err != nil {
		t.Fatal(err)
	}
	if err := ca.Publish("a", protocol.TrackInfo{ID: "cam", Kind: "video"}, track("dup")); !errors.Is(err, ErrTrackExists) {
		t.Fatalf("duplicate publish: %v", err)
	}
	// A late joiner is subscribed to what exists.
	cb, _ := join(r, "x", b)
	if b.got() != "[+a.cam]" {
		t.Fatalf("b: %s", b.got())
	}
	tb := track("b.mic")
	cb.Publish("b", protocol.TrackInfo{ID: "mic", Kind: "audio"}, tb)
	if a.got() != "[+b.mic]" {
		t.Fatalf("a is not told of b's track, or of its own: %s", a.got())
	}
	join(r, "x", c)
	if c.got() != "[+a.cam +b.mic]" {
		t.Fatalf("c: %s", c.got())
	}
	if _, err := join(r, "x", &member{id: "d", name: "D"}); !errors.Is(err, ErrFull) {
		t.Fatalf("fourth join in a call of 3: %v", err)
	}
	if _, err := join(r, "x", &member{id: "a", name: "A2"}); !errors.Is(err, ErrFull) && !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("duplicate id: %v", err)
	}
	if got := len(c.roster); got != 3 {
		t.Fatalf("roster of %d", got)
	}

	// Unpublish ends the track everywhere and closes it.
	if err := cb.Unpublish("b", "mic"); err != nil {
		t.Fatal(err)
	}
	if a.got() != "[+b.mic -b.mic]" || c.got() != "[+a.cam +b.mic -b.mic]" {
		t.Fatalf("unpublish: a %s c %s", a.got(), c.got())
	}
	select {
	case <-tb.Done():
	default:
		t.Fatal("unpublished track not closed")
	}
	if err := cb.Unpublish("b", "mic"); !errors.Is(err, ErrUnknownTrack) {
		t.Fatalf("second unpublish: %v", err)
	}

	// Leaving ends the leaver's tracks at the others; the last leave removes the call.
	ca.Leave("a")
	ca.Leave("a") // harmless
	if b.got() != "[+a.cam -a.cam]" {
		t.Fatalf("b after a left: %s", b.got())
	}
	if len(b.roster) != 2 {
		t.Fatalf("roster after leave: %+v", b.roster)
	}
	if err := ca.Publish("a", protocol.TrackInfo{ID: "x", Kind: "audio"}, track("late")); !errors.Is(err, ErrNotMember) {
		t.Fatalf("publish after leave: %v", err)
	}
	cb.Leave("b")
	cb.Leave("c")
	// Empty, the call stays open for its grace (TestEmptyGrace).
	if calls := r.Calls(); len(calls) != 1 {
		t.Fatalf("the empty call is not kept for its grace: %v", calls)
	}
	if got, want := kinds(drain(sub)), "[opened joined:a>in joined:b>in joined:c>in left:a left:b left:c]"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	r.Close()
	if _, err := join(r, "y", &member{id: "z", name: "Z"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("join after close: %v", err)
	}
}

func TestCallsAreSeparate(t *testing.T) {
	r := NewRegistry(Config{})
	a, b := &member{id: "a", name: "A"}, &member{id: "b", name: "B"}
	ca, _ := join(r, "one", a)
	join(r, "two", b)
	ca.Publish("a", protocol.TrackInfo{ID: "cam", Kind: "video"}, track("a.cam"))
	if b.got() != "[]" {
		t.Fatalf("a member of another call was subscribed: %s", b.got())
	}
	if r.Participants() != 2 || len(r.Calls()) != 2 {
		t.Fatalf("participants %d calls %v", r.Participants(), r.Calls())
	}
}

// TestRelayKey: key messages reach only the named member, marked with the
// sender; unknown recipients and non-members are refused.
func TestRelayKey(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 4})
	a, b, c := &member{id: "a", name: "A"}, &member{id: "b", name: "B"}, &member{id: "c", name: "C"}
	ca, _ := join(reg, "x", a)
	join(reg, "x", b)
	join(reg, "y", c)
	if err := ca.RelayKey("a", protocol.Key{To: "b", KID: 7}); err != nil {
		t.Fatal(err)
	}
	if got := b.got(); got != "[key:a>7]" {
		t.Fatalf("b got %s", got)
	}
	if got := a.got(); got != "[]" {
		t.Fatalf("a got %s", got)
	}
	for _, to := range []string{"c", "a", "zz"} { // other call, oneself, nobody
		if err := ca.RelayKey("a", protocol.Key{To: to}); !errors.Is(err, ErrNoRecipient) {
			t.Errorf("to %q: %v", to, err)
		}
	}
	if err := ca.RelayKey("c", protocol.Key{To: "b"}); !errors.Is(err, ErrNotMember) {
		t.Errorf("from a non-member: %v", err)
	}
	if got := c.got(); got != "[]" {
		t.Fatalf("c got %s", got)
	}
}

// TestDuplicateDevice: one device is never in a call twice: its second
// join replaces its first session (a reconnection the server had not
// noticed), which is told so, even when it was alone in the call.
func TestDuplicateDevice(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 4})
	old := &member{id: "a", name: "A"}
	join(reg, "x", old)
	dup := &member{id: "b", name: "B", device: "dev-a"}
	if _, err := join(reg, "x", dup); err != nil {
		t.Fatalf("second join of a device: %v", err)
	}
	if got := old.got(); !strings.Contains(got, "removed-by:"+ReplacedBy) {
		t.Errorf("the replaced session was told %s", got)
	}
	c, _ := join(reg, "x", &member{id: "c", name: "C"})
	if r := c.Roster().Participants; len(r) != 2 || r[0].ID != "b" || r[1].Device != "dev-c" || r[1].Credential.Body != "body-c" {
		t.Fatalf("roster %+v", r)
	}
}

// TestRemove: only a role that may remove_participant removes, only people
// of its own side, and a refusal changes nothing; the removed member's
// tracks end at everyone, it is told who removed it, and the roster drops it.
func TestRemove(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 8})
	sub := reg.Subscribe()
	boss := &member{id: "p", name: "Principal", side: "east", roles: []role.Role{role.Principal}}
	adv := &member{id: "a", name: "Adviser", side: "east", roles: []role.Role{role.Adviser}}
	other := &member{id: "w", name: "West", side: "west", roles: []role.Role{role.Principal}}
	c, _ := join(reg, "x", boss)
	join(reg, "x", adv)
	join(reg, "x", other)
	if err := c.Admit("p", "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish("a", protocol.TrackInfo{ID: "cam", Kind: "video"}, track("a.cam")); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name, by, target string
		want             error
	}{
		{"adviser removes principal", "a", "p", ErrForbidden},
		{"other side's principal removes adviser", "w", "a", ErrForbidden},
		{"principal removes the other side", "p", "w", ErrForbidden},
		{"principal removes itself", "p", "p", ErrNoRecipient},
		{"principal removes nobody", "p", "zz", ErrNoRecipient},
		{"non-member removes", "zz", "a", ErrNotMember},
	}
	for _, r := range refusals {
		if err := c.Remove(r.by, r.target); !errors.Is(err, r.want) {
			t.Errorf("%s: %v, want %v", r.name, err, r.want)
		}
	}
	if n := len(c.Roster().Participants); n != 3 {
		t.Fatalf("refusals changed the roster: %d members", n)
	}
	if err := c.Remove("p", "a"); err != nil {
		t.Fatalf("principal removes own adviser: %v", err)
	}
	if got := adv.got(); got != "[removed-by:Principal]" {
		t.Errorf("the adviser was told %s", got)
	}
	for _, m := range []*member{boss, other} {
		if got := m.got(); got != "[+a.cam -a.cam]" {
			t.Errorf("%s saw %s", m.name, got)
		}
	}
	if r := c.Roster().Participants; len(r) != 2 || r[0].ID != "p" || r[1].ID != "w" {
		t.Fatalf("roster after removal %+v", r)
	}
	var left []string
	for _, ev := range drain(sub) {
		if ev.Kind == EventLeft {
			left = append(left, ev.Member.ID+": "+ev.Why)
		}
	}
	if fmt.Sprint(left) != "[a: removed by Principal]" {
		t.Errorf("departures %s", left)
	}
	c.Leave("a") // the removed member's session ends later: harmless
	if n := len(c.Roster().Participants); n != 2 {
		t.Fatalf("a late Leave changed the roster: %d", n)
	}
}

// TestJoinAfterEmpty: a join racing with the close of an empty call (a
// grace of a nanosecond) lands in a live call, never in the closed one.
func TestJoinAfterEmpty(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 8, EmptyGrace: time.Nanosecond})
	for i := range 200 {
		a := &member{id: fmt.Sprint("a", i), name: "A"}
		c, err := join(reg, "x", a)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan *Call)
		b := &member{id: fmt.Sprint("b", i), name: "B"}
		go func() {
			cb, err := join(reg, "x", b)
			if err != nil {
				t.Error(err)
			}
			done <- cb
		}()
		c.Leave(a.id)
		cb := <-done
		if got := reg.Participants(); got != 1 {
			t.Fatalf("round %d: the registry counts %d participants, want 1 (b)", i, got)
		}
		if calls := reg.Calls(); len(calls) != 1 {
			t.Fatalf("round %d: b is in a call the registry does not hold (%v)", i, calls)
		}
		cb.Leave(b.id)
	}
}

// A registry asked for more members per call than a roster can carry
// (protocol.MaxParticipants) admits that many and no more.
func TestRegistryCapsCallSize(t *testing.T) {
	r := NewRegistry(Config{MaxMembers: 10 * protocol.MaxParticipants})
	for i := range protocol.MaxParticipants {
		if _, err := join(r, "x", &member{id: fmt.Sprintf("m%d", i), name: "M", device: fmt.Sprintf("d%d", i)}); err != nil {
			t.Fatalf("member %d of %d: %v", i+1, protocol.MaxParticipants, err)
		}
	}
	if _, err := join(r, "x", &member{id: "one-more", name: "M", device: "d-more"}); !errors.Is(err, ErrFull) {
		t.Fatalf("member %d: %v, want ErrFull", protocol.MaxParticipants+1, err)
	}
}

// TestRelayKeyOnlyBetweenKeyMembers (issue 10, item 4): the server relays
// a key message only from a key member to a member its media goes to, by
// its own view of both. A member in the lobby or on the bench, or an
// operator, cannot push a key at the call, nor be sent one; once admitted,
// keys flow.
func TestRelayKeyOnlyBetweenKeyMembers(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 8})
	p := &member{id: "p", name: "P", side: "east", roles: []role.Role{role.Principal}}
	w := &member{id: "w", name: "W", side: "west", roles: []role.Role{role.Principal}}
	op := &member{id: "o", name: "O", side: "east", roles: []role.Role{role.Operator}}
	adv := &member{id: "a", name: "A", side: "east", roles: []role.Role{role.Adviser}, adm: Admission{Named: true}}
	guest := &member{id: "g", name: "G", side: "east", roles: []role.Role{role.Adviser}}
	c, _ := join(reg, "x", p)
	for _, m := range []*member{w, op, adv, guest} {
		if _, err := join(reg, "x", m); err != nil {
			t.Fatal(err)
		}
	}
	refused := []struct{ from, to string }{
		{"g", "p"}, {"g", "w"}, // the lobby sends
		{"a", "p"},             // the bench sends
		{"o", "p"},             // an operator sends
		{"p", "g"}, {"p", "a"}, // to the lobby, to the bench
		{"p", "o"}, // to an operator
	}
	for _, r := range refused {
		if err := c.RelayKey(r.from, protocol.Key{To: r.to, KID: 9}); !errors.Is(err, ErrNotKeyed) {
			t.Errorf("%s → %s: %v, want ErrNotKeyed", r.from, r.to, err)
		}
	}
	for _, m := range []*member{p, w, op, adv, guest} {
		if got := m.got(); got != "[]" {
			t.Errorf("%s got %s", m.name, got)
		}
	}
	if n := c.DroppedKeys(); n != len(refused) {
		t.Errorf("dropped %d, want %d", n, len(refused))
	}
	if err := c.RelayKey("p", protocol.Key{To: "w", KID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Admit("p", "g"); err != nil {
		t.Fatal(err)
	}
	if err := c.RelayKey("g", protocol.Key{To: "w", KID: 2}); err != nil {
		t.Fatalf("an admitted member's key: %v", err)
	}
	if got := w.got(); got != "[key:p>1 key:g>2]" {
		t.Fatalf("w got %s", got)
	}
}
