package e2ee_test

import (
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"hotline/internal/e2ee"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// TestLastEpoch (PROTOCOL.md, "Key messages"): epoch 65535 is the last. A
// departure after it does not wrap to epoch 0 (a KID already used): the
// sender stops for good, sends no key, and encrypts nothing more.
func TestLastEpoch(t *testing.T) {
	a, _ := kmParty(t, 10)
	b, _ := kmParty(t, 20)
	var mu sync.Mutex
	var sent []protocol.Key
	m, err := e2ee.New(e2ee.Config{Device: a, Line: "demo", Call: "x", Now: func() time.Time { return kmT0 },
		Send: func(k protocol.Key) { mu.Lock(); sent = append(sent, k); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetSelfID("a")
	entry := func(id string, d *trust.Device) protocol.RosterEntry {
		return protocol.RosterEntry{ID: id, Device: d.ID(), Name: "member", State: protocol.StateIn, Listening: protocol.ListenFloor,
			Credential: protocol.Credential{Body: d.Credential.Body, Sig: d.Credential.Sig}}
	}
	if err := m.SetEpochForTest(65535); err != nil {
		t.Fatal(err)
	}
	m.SetRoster(protocol.Roster{Segment: protocol.SegmentPrivate, Participants: []protocol.RosterEntry{entry("a", a), entry("b", b)}})
	if len(sent) != 1 || sent[0].To != "b" || sent[0].KID != m.KID() || m.KID()&0xffff != 65535 {
		t.Fatalf("sent %+v, KID %d", sent, m.KID())
	}
	if _, err := m.Sender().Encrypt(nil, 0, []byte("frame")); err != nil {
		t.Fatalf("epoch 65535 encrypts: %v", err)
	}
	m.SetRoster(protocol.Roster{Segment: protocol.SegmentPrivate, Participants: []protocol.RosterEntry{entry("a", a)}}) // b leaves: a rekey is due
	if st := m.Stats(); st.Epoch != 65535 || st.KeysSent != 1 {
		t.Fatalf("after the last epoch: %+v", st)
	}
	if m.Sender().HasKey() {
		t.Fatal("the sender still has a key after the last epoch")
	}
	if _, err := m.Sender().Encrypt(nil, 0, []byte("frame")); err == nil {
		t.Fatal("a frame was encrypted after the last epoch")
	}
	m.SetRoster(protocol.Roster{Segment: protocol.SegmentPrivate, Participants: []protocol.RosterEntry{entry("a", a), entry("b", b)}}) // b is back
	if len(sent) != 1 {
		t.Fatalf("keys sent after the last epoch: %+v", sent[1:])
	}
}

// failingRand is a key source that fails while fail is set.
type failingRand struct {
	mu   sync.Mutex
	fail bool
}

func (r *failingRand) Read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return 0, errors.New("no entropy")
	}
	return rand.Read(b)
}

func (r *failingRand) set(fail bool) { r.mu.Lock(); r.fail = fail; r.mu.Unlock() }

// TestRekeyFailsClosed (issue 10, item 4): when a departure's rekey cannot
// make a fresh key, the sender stops at once — it never goes on encrypting
// under the key the departed member holds — and sends no key message; the
// next roster's rekey that succeeds puts a fresh key in place and sending
// resumes under it, never under the old one.
func TestRekeyFailsClosed(t *testing.T) {
	a, _ := kmParty(t, 10)
	b, _ := kmParty(t, 20)
	c, _ := kmParty(t, 30)
	var mu sync.Mutex
	var sent []protocol.Key
	src := &failingRand{}
	m, err := e2ee.New(e2ee.Config{Device: a, Line: "demo", Call: "x", Now: func() time.Time { return kmT0 },
		RekeyDelay: time.Millisecond, Rand: src,
		Send: func(k protocol.Key) { mu.Lock(); sent = append(sent, k); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetSelfID("a")
	entry := func(id string, d *trust.Device) protocol.RosterEntry {
		return protocol.RosterEntry{ID: id, Device: d.ID(), Name: "member", State: protocol.StateIn, Listening: protocol.ListenFloor,
			Credential: protocol.Credential{Body: d.Credential.Body, Sig: d.Credential.Sig}}
	}
	roster := func(es ...protocol.RosterEntry) protocol.Roster {
		return protocol.Roster{Segment: protocol.SegmentPrivate, Participants: es}
	}
	m.SetRoster(roster(entry("a", a), entry("b", b), entry("c", c)))
	old := m.KID()
	if _, err := m.Sender().Encrypt(nil, 0, []byte("frame")); err != nil {
		t.Fatal(err)
	}
	src.set(true)
	m.SetRoster(roster(entry("a", a), entry("b", b))) // c leaves; no fresh key can be made
	if m.Sender().HasKey() {
		t.Fatal("after a failed rekey the sender still encrypts (under a key the departed member holds)")
	}
	if _, err := m.Sender().Encrypt(nil, 0, []byte("frame")); err == nil {
		t.Fatal("a frame was encrypted after a failed rekey")
	}
	if st := m.Stats(); st.KeyFailures != 1 || m.KID() != old {
		t.Fatalf("stats %+v, KID %d (was %d)", st, m.KID(), old)
	}
	n := len(sent)
	m.SetRoster(roster(entry("a", a), entry("b", b))) // still failing: still stopped, nothing sent
	if m.Sender().HasKey() || len(sent) != n {
		t.Fatalf("sender has key %v, sent %d (was %d)", m.Sender().HasKey(), len(sent), n)
	}
	src.set(false)
	m.SetRoster(roster(entry("a", a), entry("b", b))) // the next roster: a fresh key
	if m.KID() == old {
		t.Fatal("no fresh key after the source recovered")
	}
	mu.Lock()
	last := sent[len(sent)-1]
	mu.Unlock()
	if last.To != "b" || last.KID != m.KID() {
		t.Fatalf("the fresh key was not sent to b: %+v", last)
	}
	eventually(t, func() bool { return m.Sender().HasKey() })
	if kid := m.Sender().KID(); kid != m.KID() || kid == old {
		t.Fatalf("the sender uses KID %d; fresh %d, old %d", kid, m.KID(), old)
	}
}

// eventually polls cond until it holds (no time limit of its own:
// the test's deadline is the bound).
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

// TestEpochsExhaustedFreshStay (issue 10, item 4): a sender that used its
// last epoch stops and says so once (Config.Exhausted), and its next stay
// in the call (a new participant id) has a new sender tag, so epochs start
// at 0 again without any KID of the earlier stay coming back. MaxEpoch
// stands in for 65535 so that the end comes after two rekeys.
func TestEpochsExhaustedFreshStay(t *testing.T) {
	a, _ := kmParty(t, 10)
	b, _ := kmParty(t, 20)
	c, _ := kmParty(t, 30)
	entry := func(id string, d *trust.Device) protocol.RosterEntry {
		return protocol.RosterEntry{ID: id, Device: d.ID(), Name: "member", State: protocol.StateIn, Listening: protocol.ListenFloor,
			Credential: protocol.Credential{Body: d.Credential.Body, Sig: d.Credential.Sig}}
	}
	roster := func(es ...protocol.RosterEntry) protocol.Roster {
		return protocol.Roster{Segment: protocol.SegmentPrivate, Participants: es}
	}
	used := map[uint64]bool{}
	stay := func(id string) (*e2ee.Manager, *int) {
		var exhausted int
		m, err := e2ee.New(e2ee.Config{Device: a, Line: "demo", Call: "x", Now: func() time.Time { return kmT0 },
			MaxEpoch: 2, Send: func(protocol.Key) {}, Exhausted: func() { exhausted++ }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		if err := m.SetSelfID(id); err != nil {
			t.Fatal(err)
		}
		return m, &exhausted
	}
	m, exhausted := stay("a1")
	if m.SetSelfID("a2") == nil {
		t.Error("a manager took a second participant id: one manager is one stay")
	}
	m.SetRoster(roster(entry("a1", a), entry("b", b), entry("c", c)))
	for _, rest := range [][]protocol.RosterEntry{{entry("a1", a), entry("b", b)}, {entry("a1", a)}} {
		used[m.KID()] = true
		m.SetRoster(roster(rest...)) // a departure: the next epoch
	}
	used[m.KID()] = true
	if st := m.Stats(); st.Epoch != 2 || *exhausted != 0 {
		t.Fatalf("after two rekeys: %+v, exhausted %d", st, *exhausted)
	}
	m.SetRoster(roster(entry("a1", a), entry("c", c)))
	m.SetRoster(roster(entry("a1", a))) // c leaves: a rekey past MaxEpoch is due
	if *exhausted != 1 || m.Sender().HasKey() {
		t.Fatalf("past the last epoch: exhausted %d, sender has key %v", *exhausted, m.Sender().HasKey())
	}
	m.SetRoster(roster(entry("a1", a), entry("b", b)))
	m.SetRoster(roster(entry("a1", a)))
	if *exhausted != 1 {
		t.Fatalf("Exhausted called %d times, want once", *exhausted)
	}

	// The next stay: epoch 0 again, under another sender tag.
	n, _ := stay("a2")
	tag1, _, _ := trust.SplitKID(m.KID())
	tag2, epoch, _ := trust.SplitKID(n.KID())
	if epoch != 0 || tag1 == tag2 || used[n.KID()] {
		t.Fatalf("next stay: KID %d (epoch %d, tag %x; the earlier stay's tag %x)", n.KID(), epoch, tag2, tag1)
	}
	if _, err := n.Sender().Encrypt(nil, 0, []byte("frame")); err != nil {
		t.Fatalf("the next stay does not send: %v", err)
	}
}
