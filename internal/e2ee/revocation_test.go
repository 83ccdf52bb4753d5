package e2ee_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"hotline/internal/e2ee"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// TestRevokedMember (PROTOCOL.md, "Revocation"): a member whose device is
// on its side's signed list is a forgery (verdict revoked): no key goes to
// it, none is accepted from it. The list stays in force when a later
// roster leaves it out or carries an older one (refused and counted), and
// a newer list that withdraws the revocation makes it a member again. A
// list this client's pins do not know is refused.
func TestRevokedMember(t *testing.T) {
	a, _ := kmParty(t, 10)
	b, _ := kmParty(t, 20)
	c, _ := kmParty(t, 30)
	east, err := trust.AuthorityFromSeed("east", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := trust.AuthorityFromSeed("east", bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sentTo := map[string]int{}
	m, err := e2ee.New(e2ee.Config{Device: a, Line: "demo", Call: "x", Now: func() time.Time { return kmT0 },
		Send: func(k protocol.Key) { mu.Lock(); sentTo[k.To]++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetSelfID("a")
	entry := func(id string, d *trust.Device) protocol.RosterEntry {
		return protocol.RosterEntry{ID: id, Device: d.ID(), Name: "member", State: protocol.StateIn, Listening: protocol.ListenFloor,
			Credential: protocol.Credential{Body: d.Credential.Body, Sig: d.Credential.Sig}}
	}
	list := func(by *trust.Authority, serial int64, devs ...string) protocol.Credential {
		r, err := by.Revoke("demo", serial, kmT0, devs)
		if err != nil {
			t.Fatal(err)
		}
		return protocol.Credential{Body: r.Body, Sig: r.Sig}
	}
	roster := func(lists ...protocol.Credential) {
		m.SetRoster(protocol.Roster{Segment: protocol.SegmentPrivate, Revocations: lists,
			Participants: []protocol.RosterEntry{entry("a", a), entry("b", b), entry("c", c)}})
	}
	verdicts := func() map[string]string {
		out := map[string]string{}
		for _, f := range m.Forgeries() {
			out[f.ID] = f.Verdict
		}
		return out
	}
	roster()
	if len(m.Members()) != 2 || sentTo["c"] != 1 {
		t.Fatalf("before the list: members %d, sent to c %d", len(m.Members()), sentTo["c"])
	}
	roster(list(stranger, 9, c.ID())) // not our pins: refused
	if v := verdicts(); len(v) != 0 || m.Stats().RevocationsRefused != 1 {
		t.Fatalf("a stranger's list: forgeries %v, stats %+v", v, m.Stats())
	}
	roster(list(east, 2, c.ID()))
	if v := verdicts(); v["c"] != e2ee.VerdictRevoked || len(v) != 1 {
		t.Fatalf("forgeries %v, want c revoked", v)
	}
	if _, ok := m.Members()["c"]; ok {
		t.Fatal("the revoked device is still a member")
	}
	if !m.Revoked(c.ID()) || m.Revoked(b.ID()) {
		t.Fatal("Revoked disagrees with the list")
	}
	sentC := sentTo["c"]
	roster() // a roster without the list: it stays in force
	roster(list(east, 1))
	if v := verdicts(); v["c"] != e2ee.VerdictRevoked {
		t.Fatalf("after a roster without the list and an older one: %v", v)
	}
	if got := m.Stats().RevocationsRefused; got != 2 {
		t.Fatalf("refused %d lists, want 2 (the stranger's, the older one)", got)
	}
	mu.Lock()
	if sentTo["c"] != sentC {
		t.Fatalf("keys went to the revoked member: %d", sentTo["c"]-sentC)
	}
	mu.Unlock()
	if err := m.HandleKey(&protocol.Key{From: "c", KID: trust.KID(c.SigPublic(), "c", 0)}); err == nil {
		t.Fatal("a key from the revoked member was accepted")
	}
	roster(list(east, 3)) // withdrawn by a newer list
	if v := verdicts(); len(v) != 0 {
		t.Fatalf("after the withdrawal: %v", v)
	}
	if _, ok := m.Members()["c"]; !ok {
		t.Fatal("c is not a member again after the withdrawal")
	}
}
