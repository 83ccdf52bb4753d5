package e2ee_test

import (
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
