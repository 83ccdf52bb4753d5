package call

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/sfu"
)

// member records what the call tells it.
type member struct {
	id, name string
	side     string
	roles    []role.Role
	adm      Admission
	mu       sync.Mutex
	events   []string
	roster   []protocol.RosterEntry
}

func (m *member) ID() string     { return m.id }
func (m *member) Name() string   { return m.name }
func (m *member) Device() string { return "dev-" + m.id }
func (m *member) Credential() protocol.Credential {
	return protocol.Credential{Body: "body-" + m.id, Sig: "sig"}
}
func (m *member) Side() string { return m.side }
func (m *member) Roles() []role.Role {
	if m.roles == nil {
		return []role.Role{role.Principal} // in at once, sends and receives
	}
	return m.roles
}
func (m *member) Admission() Admission      { return m.adm }
func (m *member) Removed(by string)         { m.log("removed-by:" + by) }
func (m *member) DeliverKey(k protocol.Key) { m.log("key:" + k.From + ">" + fmt.Sprint(k.KID)) }
func (m *member) Subscribe(p Publication) {
	m.log("+" + p.Track.ID())
}
func (m *member) Unsubscribe(p Publication) { m.log("-" + p.Track.ID()) }
func (m *member) RosterChanged(r []protocol.RosterEntry) {
	m.mu.Lock()
	m.roster = r
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

type recorder struct {
	mu     sync.Mutex
	joined []string
	left   []string
}

func (r *recorder) MemberJoined(call, id, name string) {
	r.mu.Lock()
	r.joined = append(r.joined, call+"/"+name)
	r.mu.Unlock()
}
func (r *recorder) MemberLeft(call, id string) {
	r.mu.Lock()
	r.left = append(r.left, call+"/"+id)
	r.mu.Unlock()
}

func track(id string) *sfu.Track {
	return sfu.NewTrack(sfu.TrackConfig{ID: id})
}

func TestSubscriptionsFollowMembership(t *testing.T) {
	rec := &recorder{}
	r := NewRegistry(3, rec)
	a, b, c := &member{id: "a", name: "A"}, &member{id: "b", name: "B"}, &member{id: "c", name: "C"}
	ca, err := r.Join("x", a)
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
	cb, _ := r.Join("x", b)
	if b.got() != "[+a.cam]" {
		t.Fatalf("b: %s", b.got())
	}
	tb := track("b.mic")
	cb.Publish("b", protocol.TrackInfo{ID: "mic", Kind: "audio"}, tb)
	if a.got() != "[+b.mic]" {
		t.Fatalf("a is not told of b's track, or of its own: %s", a.got())
	}
	r.Join("x", c)
	if c.got() != "[+a.cam +b.mic]" {
		t.Fatalf("c: %s", c.got())
	}
	if _, err := r.Join("x", &member{id: "d", name: "D"}); !errors.Is(err, ErrFull) {
		t.Fatalf("fourth join in a call of 3: %v", err)
	}
	if _, err := r.Join("x", &member{id: "a", name: "A2"}); !errors.Is(err, ErrFull) && !errors.Is(err, ErrDuplicateID) {
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
	if calls := r.Calls(); len(calls) != 0 {
		t.Fatalf("empty call kept: %v", calls)
	}
	if len(rec.joined) != 3 || len(rec.left) != 3 {
		t.Fatalf("recorded joins %v leaves %v", rec.joined, rec.left)
	}
	r.Close()
	if _, err := r.Join("y", &member{id: "z", name: "Z"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("join after close: %v", err)
	}
}

func TestCallsAreSeparate(t *testing.T) {
	r := NewRegistry(0, nil)
	a, b := &member{id: "a", name: "A"}, &member{id: "b", name: "B"}
	ca, _ := r.Join("one", a)
	r.Join("two", b)
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
	reg := NewRegistry(4, nil)
	a, b, c := &member{id: "a", name: "A"}, &member{id: "b", name: "B"}, &member{id: "c", name: "C"}
	ca, _ := reg.Join("x", a)
	reg.Join("x", b)
	reg.Join("y", c)
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

// TestDuplicateDevice: one device cannot be in a call twice.
func TestDuplicateDevice(t *testing.T) {
	reg := NewRegistry(4, nil)
	reg.Join("x", &member{id: "a", name: "A"})
	dup := &dupDevice{member{id: "b", name: "B"}}
	if _, err := reg.Join("x", dup); !errors.Is(err, ErrDuplicateDevice) {
		t.Fatalf("second join of a device: %v", err)
	}
	c, _ := reg.Join("x", &member{id: "c", name: "C"})
	if r := c.Roster(); len(r) != 2 || r[1].Device != "dev-c" || r[1].Credential.Body != "body-c" {
		t.Fatalf("roster %+v", r)
	}
}

type dupDevice struct{ member }

func (d *dupDevice) Device() string { return "dev-a" }

// TestRemove: only a role that may remove_participant removes, only people
// of its own side, and a refusal changes nothing; the removed member's
// tracks end at everyone, it is told who removed it, and the roster drops it.
func TestRemove(t *testing.T) {
	rec := &recorder{}
	reg := NewRegistry(8, rec)
	boss := &member{id: "p", name: "Principal", side: "east", roles: []role.Role{role.Principal}}
	adv := &member{id: "a", name: "Adviser", side: "east", roles: []role.Role{role.Adviser}}
	other := &member{id: "w", name: "West", side: "west", roles: []role.Role{role.Principal}}
	c, _ := reg.Join("x", boss)
	reg.Join("x", adv)
	reg.Join("x", other)
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
	if n := len(c.Roster()); n != 3 {
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
	if r := c.Roster(); len(r) != 2 || r[0].ID != "p" || r[1].ID != "w" {
		t.Fatalf("roster after removal %+v", r)
	}
	rec.mu.Lock()
	left := fmt.Sprint(rec.left)
	rec.mu.Unlock()
	if left != "[x/a]" {
		t.Errorf("recorded departures %s", left)
	}
	c.Leave("a") // the removed member's session ends later: harmless
	if n := len(c.Roster()); n != 2 {
		t.Fatalf("a late Leave changed the roster: %d", n)
	}
}

// TestJoinAfterEmpty: a call whose last member left is forgotten; a join
// racing with that departure lands in a live call, never in the dead one.
func TestJoinAfterEmpty(t *testing.T) {
	reg := NewRegistry(8, nil)
	for i := range 200 {
		a := &member{id: fmt.Sprint("a", i), name: "A"}
		c, err := reg.Join("x", a)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan *Call)
		b := &member{id: fmt.Sprint("b", i), name: "B"}
		go func() {
			cb, err := reg.Join("x", b)
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
		cb.Leave(b.id)
		if n := reg.CallCount(); n != 0 {
			t.Fatalf("round %d: %d calls left after everyone left", i, n)
		}
	}
}

// A registry asked for more members per call than a roster can carry
// (protocol.MaxParticipants) admits that many and no more.
func TestRegistryCapsCallSize(t *testing.T) {
	r := NewRegistry(10*protocol.MaxParticipants, nil)
	for i := range protocol.MaxParticipants {
		if _, err := r.Join("x", &member{id: fmt.Sprintf("m%d", i), name: "M"}); err != nil {
			t.Fatalf("member %d of %d: %v", i+1, protocol.MaxParticipants, err)
		}
	}
	if _, err := r.Join("x", &member{id: "one-more", name: "M"}); !errors.Is(err, ErrFull) {
		t.Fatalf("member %d: %v, want ErrFull", protocol.MaxParticipants+1, err)
	}
}
