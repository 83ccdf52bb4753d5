package e2ee_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/internal/e2ee"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// The Manager's tests. Rekey timing runs in a synctest bubble: its timers
// fire on the bubble's fake clock, so "499 ms after" is exact and costs no
// wall time. Credentials are checked at mgrNow, independent of that clock.

var mgrNow = kmT0.Add(time.Minute)

// mgrParty is one participant: an enrolled device, its roster entry and,
// once started, its Manager with the key messages it sent.
type mgrParty struct {
	t     *testing.T
	id    string // participant id
	dev   *trust.Device
	who   *trust.Identity
	entry protocol.RosterEntry
	m     *e2ee.Manager

	mu   sync.Mutex
	sent []protocol.Key
}

// newMgrParty enrols a device (seed byte b) with roles, signed by auth.
func newMgrParty(t *testing.T, auth *trust.Authority, id string, b byte, roles ...role.Role) *mgrParty {
	t.Helper()
	d, err := trust.DeviceFromSeeds(bytes.Repeat([]byte{b}, 32), bytes.Repeat([]byte{b + 1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	req, err := d.Request(auth.Side, "member "+id, roles, kmT0)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.Sign(req, kmT0, kmT0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d.Credential = &cred
	p := &mgrParty{t: t, id: id, dev: d, entry: protocol.RosterEntry{
		ID: id, Device: d.ID(), Name: "member " + id,
		Credential: protocol.Credential{Body: cred.Body, Sig: cred.Sig}, State: protocol.StateIn,
	}}
	return p
}

// start pins pins and makes the party's Manager.
func (p *mgrParty) start(pins ...trust.Pin) *mgrParty {
	p.t.Helper()
	p.dev.Pins = pins
	who, err := trust.VerifyCredential(*p.dev.Credential, pins, mgrNow)
	if err != nil {
		p.t.Fatal(err)
	}
	p.who = who
	m, err := e2ee.New(e2ee.Config{Device: p.dev, Line: "demo", Call: "c1", Now: func() time.Time { return mgrNow },
		Send: func(k protocol.Key) {
			p.mu.Lock()
			p.sent = append(p.sent, k)
			p.mu.Unlock()
		}})
	if err != nil {
		p.t.Fatal(err)
	}
	m.SetSelfID(p.id)
	p.t.Cleanup(m.Close)
	p.m = m
	return p
}

// in returns the party's roster entry in state.
func (p *mgrParty) in(state string) protocol.RosterEntry {
	e := p.entry
	e.State = state
	e.Listening = protocol.ListenFloor
	return e
}

// take returns and forgets the key messages sent so far.
func (p *mgrParty) take() []protocol.Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.sent
	p.sent = nil
	return out
}

func epochOf(kid uint64) uint16 {
	_, e, _ := trust.SplitKID(kid)
	return e
}

// summary is "to@epoch" for each key message, in order.
func summary(ks []protocol.Key) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.To+"@"+string(rune('0'+epochOf(k.KID))))
	}
	return out
}

// deliver hands every key message of ks addressed to q to q's Manager, as
// the server does (setting From), and fails on a refusal.
func deliver(t *testing.T, from *mgrParty, ks []protocol.Key, to ...*mgrParty) {
	t.Helper()
	for _, k := range ks {
		for _, q := range to {
			if k.To != q.id {
				continue
			}
			k.From = from.id
			if err := q.m.HandleKey(&k); err != nil {
				t.Fatalf("%s → %s: %v", from.id, q.id, err)
			}
		}
	}
}

func mgrAuthority(t *testing.T, side string, b byte) *trust.Authority {
	t.Helper()
	a, err := trust.AuthorityFromSeed(side, bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestManagerRoster: every entry is verified against the pins; forgeries
// are reported with a reason; the key goes only to verified members who are
// in the call and whose roles receive media — never to the lobby, the bench
// or an operator — and each of them can open it.
func TestManagerRoster(t *testing.T) {
	east, rogue := mgrAuthority(t, "east", 1), mgrAuthority(t, "east", 9)
	a := newMgrParty(t, east, "a", 10, role.Principal).start(east.Pin())
	b := newMgrParty(t, east, "b", 20, role.Adviser).start(east.Pin())
	op := newMgrParty(t, east, "op", 30, role.Operator)
	opAdv := newMgrParty(t, east, "opadv", 40, role.Operator, role.Adviser)
	bench := newMgrParty(t, east, "bench", 50, role.Adviser)
	lobby := newMgrParty(t, east, "lobby", 60, role.Principal)
	forged := newMgrParty(t, rogue, "forged", 70, role.Principal)
	twin := newMgrParty(t, east, "twin", 20, role.Adviser) // b's device again
	bad := a.in(protocol.StateIn)
	bad.ID, bad.Credential.Sig = "bad", strings.Repeat("A", len(bad.Credential.Sig))

	a.m.SetRoster(rosterOf(a.in("in"), b.in("in"), op.in("in"), opAdv.in("in"),
		bench.in(protocol.StateBench), lobby.in(protocol.StateWaiting), forged.in("in"), twin.in("in"), bad))

	if got, want := summary(a.take()), []string{"b@0", "opadv@0"}; !slices.Equal(got, want) {
		t.Fatalf("keys sent to %v, want %v", got, want)
	}
	var members []string
	for id := range a.m.Members() {
		members = append(members, id)
	}
	slices.Sort(members)
	if want := []string{"b", "opadv"}; !slices.Equal(members, want) {
		t.Errorf("members %v, want %v", members, want)
	}
	fs := a.m.Forgeries()
	if len(fs) != 3 || fs[0].ID != "forged" || fs[1].ID != "twin" || fs[2].ID != "bad" {
		t.Fatalf("forgeries %+v, want forged, twin, bad", fs)
	}
	if fs[1].Verdict != e2ee.VerdictRepeatedKey || !strings.Contains(fs[1].Reason, "repeats the device key of b") {
		t.Errorf("twin: %s, %q", fs[1].Verdict, fs[1].Reason)
	}
	for _, f := range fs {
		if f.Reason == "" {
			t.Errorf("forgery %s without a reason", f.ID)
		}
	}

	// b opens a's key through its own Manager; it is a's current key. (The
	// smaller roster is opadv leaving: a starts epoch 1.)
	b.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
	deliver(t, b, b.take(), a)
	a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
	deliver(t, a, a.take(), b)
	if !b.m.Receiver().HasKey(a.m.KID()) || !a.m.Receiver().HasKey(b.m.KID()) {
		t.Fatal("keys not held after the exchange")
	}
	if id, ok := b.m.SenderOf(a.m.KID()); !ok || id != "a" {
		t.Errorf("SenderOf(a's kid) = %q %v", id, ok)
	}
	if _, ok := b.m.SenderOf(trust.KID(op.dev.SigPublic(), op.id, 0)); ok {
		t.Error("SenderOf names a non-member")
	}
	codeA, okA := a.m.Code()
	codeB, okB := b.m.Code()
	if !okA || !okB || codeA != codeB {
		t.Errorf("codes %q %v, %q %v: want equal", codeA, okA, codeB, okB)
	}
	if s := a.m.Stats(); s.KeysSent != 3 || s.KeysAccepted != 1 || s.KeysRejected != 0 || s.Epoch != 1 {
		t.Errorf("a's stats %+v", s)
	}
}

// TestManagerHandleKey: keys from strangers, stale epochs and tampered
// messages are refused and change nothing; a repeat is harmless.
func TestManagerHandleKey(t *testing.T) {
	east := mgrAuthority(t, "east", 1)
	a := newMgrParty(t, east, "a", 10, role.Principal).start(east.Pin())
	b := newMgrParty(t, east, "b", 20, role.Principal).start(east.Pin())
	c := newMgrParty(t, east, "c", 30, role.Principal).start(east.Pin())
	roster := []protocol.RosterEntry{a.in("in"), b.in("in"), c.in("in")}
	for _, p := range []*mgrParty{a, b, c} {
		p.m.SetRoster(rosterOf(roster...))
	}
	if _, ok := b.m.Code(); ok {
		t.Fatal("a code before any key arrived")
	}
	toB := a.take()

	// c relays a's message to b as its own: b opens it as c's and fails.
	for _, k := range toB {
		if k.To == "b" {
			k.From = "c"
			if err := b.m.HandleKey(&k); !errors.Is(err, e2ee.ErrKeyWrongSender) {
				t.Errorf("a's key presented as c's: %v", err)
			}
		}
	}
	stranger := protocol.Key{From: "zz", KID: a.m.KID()}
	if err := b.m.HandleKey(&stranger); !errors.Is(err, e2ee.ErrKeyFromStranger) {
		t.Errorf("key from a stranger: %v", err)
	}
	if b.m.Receiver().HasKey(a.m.KID()) {
		t.Fatal("a refused key is held")
	}
	deliver(t, a, toB, b)
	deliver(t, a, toB, b) // a repeat
	if s := b.m.Stats(); s.KeysAccepted != 2 || s.KeysRejected != 2 {
		t.Errorf("b's stats %+v, want 2 accepted (one a repeat), 2 rejected", s)
	}
	if _, ok := b.m.Code(); ok {
		t.Error("a code while c's key is missing")
	}
	deliver(t, c, c.take(), b)
	if _, ok := b.m.Code(); !ok {
		t.Error("no code with every member's key held")
	}
}

// TestManagerRekeyOnLeave: when a verified member leaves, the others start
// a new epoch at once, send its key to those who remain (not to the one
// who left), and encrypt with it RekeyDelay (500 ms) later; the leaver's
// key is dropped at once.
func TestManagerRekeyOnLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		east := mgrAuthority(t, "east", 1)
		a := newMgrParty(t, east, "a", 10, role.Principal).start(east.Pin())
		b := newMgrParty(t, east, "b", 20, role.Principal).start(east.Pin())
		c := newMgrParty(t, east, "c", 30, role.Adviser).start(east.Pin())
		all := []protocol.RosterEntry{a.in("in"), b.in("in"), c.in("in")}
		for _, p := range []*mgrParty{a, b, c} {
			p.m.SetRoster(rosterOf(all...))
		}
		deliver(t, c, c.take(), a, b)
		epoch0 := a.m.KID()
		if got := summary(a.take()); !slices.Equal(got, []string{"b@0", "c@0"}) {
			t.Fatalf("first keys to %v", got)
		}
		cKID := c.m.KID()
		if !a.m.Receiver().HasKey(cKID) {
			t.Fatal("a lacks c's key")
		}

		a.m.SetRoster(rosterOf(a.in("in"), b.in("in"))) // c left
		sent := a.take()
		if got := summary(sent); !slices.Equal(got, []string{"b@1"}) {
			t.Fatalf("after c left, keys to %v, want b@1", got)
		}
		if a.m.Receiver().HasKey(cKID) {
			t.Error("c's key still held after c left")
		}
		if a.m.KID() == epoch0 || epochOf(a.m.KID()) != 1 || a.m.Stats().Epoch != 1 {
			t.Fatalf("no new epoch: kid %x", a.m.KID())
		}
		time.Sleep(499 * time.Millisecond)
		synctest.Wait()
		if got := a.m.Sender().KID(); got != epoch0 {
			t.Fatalf("499 ms after the rekey the sender uses %x, want the old %x", got, epoch0)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := a.m.Sender().KID(); got != sent[0].KID {
			t.Fatalf("500 ms after the rekey the sender uses %x, want the new %x", got, sent[0].KID)
		}

		// A roster that changes nothing sends nothing and keeps the epoch.
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
		if got := a.take(); len(got) != 0 || epochOf(a.m.KID()) != 1 {
			t.Fatalf("an unchanged roster sent %v", summary(got))
		}
	})
}

// TestManagerRekeyOvertaken: a second leave inside the 500 ms starts
// another epoch; the sender skips the overtaken key and switches once,
// 500 ms after the second rekey. Close cancels a pending switch.
func TestManagerRekeyOvertaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		east := mgrAuthority(t, "east", 1)
		a := newMgrParty(t, east, "a", 10, role.Principal).start(east.Pin())
		b := newMgrParty(t, east, "b", 20, role.Principal)
		c := newMgrParty(t, east, "c", 30, role.Principal)
		d := newMgrParty(t, east, "d", 40, role.Principal)
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in"), c.in("in"), d.in("in")))
		epoch0 := a.m.KID()
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in"), c.in("in")))
		time.Sleep(200 * time.Millisecond)
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
		if got := summary(a.take()); !slices.Equal(got, []string{"b@0", "c@0", "d@0", "b@1", "c@1", "b@2"}) {
			t.Fatalf("keys to %v", got)
		}
		epoch2 := a.m.KID()
		time.Sleep(300 * time.Millisecond) // 500 ms after the first rekey
		synctest.Wait()
		if got := a.m.Sender().KID(); got != epoch0 {
			t.Fatalf("the sender switched to %x, an overtaken epoch (want still %x)", got, epoch0)
		}
		time.Sleep(200 * time.Millisecond) // 500 ms after the second
		synctest.Wait()
		if got := a.m.Sender().KID(); got != epoch2 {
			t.Fatalf("the sender uses %x, want epoch 2's %x", got, epoch2)
		}

		a.m.SetRoster(rosterOf(a.in("in"))) // b leaves: epoch 3
		if epochOf(a.m.KID()) != 3 {
			t.Fatalf("epoch %d after b left, want 3", epochOf(a.m.KID()))
		}
		a.m.Close()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := a.m.Sender().KID(); got != epoch2 {
			t.Fatalf("after Close the sender switched to %x", got)
		}
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
		if got := a.take(); len(got) != 0 {
			t.Fatalf("keys sent after Close: %v", summary(got))
		}
	})
}

// TestManagerKeepOld: a receiver keeps a sender's previous key KeepOld
// (2 s) after the newer one arrives, for frames in flight, then drops it;
// an older epoch than the one held is refused.
func TestManagerKeepOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		east := mgrAuthority(t, "east", 1)
		a := newMgrParty(t, east, "a", 10, role.Principal).start(east.Pin())
		b := newMgrParty(t, east, "b", 20, role.Principal).start(east.Pin())
		c := newMgrParty(t, east, "c", 30, role.Principal)
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in"), c.in("in")))
		b.m.SetRoster(rosterOf(a.in("in"), b.in("in"), c.in("in")))
		first := a.take()
		deliver(t, a, first, b)
		old := a.m.KID()
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
		deliver(t, a, a.take(), b)
		if !b.m.Receiver().HasKey(old) || !b.m.Receiver().HasKey(a.m.KID()) {
			t.Fatal("b does not hold both of a's keys")
		}
		time.Sleep(e2ee.DefaultKeepOld - time.Millisecond)
		synctest.Wait()
		if !b.m.Receiver().HasKey(old) {
			t.Fatal("old key dropped before KeepOld")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if b.m.Receiver().HasKey(old) || !b.m.Receiver().HasKey(a.m.KID()) {
			t.Fatal("after KeepOld: want the old key dropped, the new one kept")
		}
		for _, k := range first {
			if k.To == "b" {
				k.From = "a"
				if err := b.m.HandleKey(&k); !errors.Is(err, e2ee.ErrKeyStale) {
					t.Fatalf("epoch 0 after epoch 1: %v, want ErrKeyStale", err)
				}
			}
		}
		if b.m.Receiver().HasKey(old) {
			t.Fatal("a stale key was taken back")
		}
	})
}

// TestManagerBenchAndLobby: out of the call (lobby or bench) a member sends
// no key; back in, it sends its current key again to everyone (they
// dropped it), without a new epoch. A member moved to the bench counts as
// leaving: the others rekey, and the benched member gets nothing until it
// is back.
func TestManagerBenchAndLobby(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		east := mgrAuthority(t, "east", 1)
		a := newMgrParty(t, east, "a", 10, role.Adviser).start(east.Pin())
		b := newMgrParty(t, east, "b", 20, role.Principal)

		a.m.SetRoster(rosterOf(a.in(protocol.StateWaiting), b.in("in")))
		if got := a.take(); len(got) != 0 {
			t.Fatalf("from the lobby, keys to %v", summary(got))
		}
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
		if got := summary(a.take()); !slices.Equal(got, []string{"b@0"}) {
			t.Fatalf("admitted: keys to %v, want b@0", got)
		}
		a.m.SetRoster(rosterOf(a.in(protocol.StateBench), b.in("in")))
		if got := a.take(); len(got) != 0 {
			t.Fatalf("from the bench, keys to %v", summary(got))
		}
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
		if got := summary(a.take()); !slices.Equal(got, []string{"b@0"}) {
			t.Fatalf("back from the bench: keys to %v, want b@0 again", got)
		}

		// Now b is benched: a rekeys and sends b nothing.
		a.m.SetRoster(rosterOf(a.in("in"), b.in(protocol.StateBench)))
		if got := a.take(); len(got) != 0 || epochOf(a.m.KID()) != 1 {
			t.Fatalf("b benched: keys to %v, epoch %d (want none, epoch 1)", summary(got), epochOf(a.m.KID()))
		}
		a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
		if got := summary(a.take()); !slices.Equal(got, []string{"b@1"}) {
			t.Fatalf("b back: keys to %v, want b@1", got)
		}
	})
}

// TestManagerMemberReplaced: the same participant id with another device
// is another member: the old one's key is dropped, a new epoch starts and
// the newcomer gets it.
func TestManagerMemberReplaced(t *testing.T) {
	east := mgrAuthority(t, "east", 1)
	a := newMgrParty(t, east, "a", 10, role.Principal).start(east.Pin())
	b := newMgrParty(t, east, "b", 20, role.Principal).start(east.Pin())
	a.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
	b.m.SetRoster(rosterOf(a.in("in"), b.in("in")))
	deliver(t, b, b.take(), a)
	a.take()
	other := newMgrParty(t, east, "b", 30, role.Principal)
	a.m.SetRoster(rosterOf(a.in("in"), other.in("in")))
	if a.m.Receiver().HasKey(b.m.KID()) {
		t.Error("the replaced member's key is still held")
	}
	sent := a.take()
	if got := summary(sent); !slices.Equal(got, []string{"b@1"}) {
		t.Fatalf("keys to %v, want b@1", got)
	}
	other.start(east.Pin())
	other.m.SetRoster(rosterOf(a.in("in"), other.in("in")))
	deliver(t, a, sent, other)
	if !other.m.Receiver().HasKey(a.m.KID()) {
		t.Fatal("the new device could not open the new key")
	}
}

// rosterOf is a private-segment roster of entries.
func rosterOf(entries ...protocol.RosterEntry) protocol.Roster {
	return protocol.Roster{Type: protocol.TypeRoster, Segment: protocol.SegmentPrivate, Participants: entries}
}
