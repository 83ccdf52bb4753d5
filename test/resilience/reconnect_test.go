package resilience

import (
	"testing"
	"time"

	"hotline/internal/tier"
	"hotline/internal/trust"
)

// TestReconnectAfterServerClosesSockets: the server closes every signalling
// socket (it shuts down, status 1001) and comes back on the same address
// and data folder. Each endpoint rejoins by itself, with a new participant
// id and new keys, and decrypts the other's media again.
func TestReconnectAfterServerClosesSockets(t *testing.T) {
	tier.Integration(t)
	s := startSite(t)
	alice := s.attend("standup", "Alice")
	bob := s.attend("standup", "Bob")
	eventually(t, "Alice decrypts Bob", func() error { return decrypting(alice.Client(), "Bob", 20) })
	eventually(t, "Bob decrypts Alice", func() error { return decrypting(bob.Client(), "Alice", 20) })
	oldA, oldB := alice.Client().ID(), bob.Client().ID()
	oldTags := map[uint32]bool{}
	for _, ts := range alice.Client().Stats().Tracks {
		if tag, _, ok := trust.SplitKID(ts.LastKID); ok && ts.From == "Bob" && ts.Decrypted > 0 {
			oldTags[tag] = true
		}
	}
	if len(oldTags) != 1 {
		t.Fatalf("Bob's frames came under %d sender tags, want 1", len(oldTags))
	}

	s.stop()
	eventually(t, "both notice", func() error {
		if alice.Client() != nil || bob.Client() != nil {
			return errString("a session is still up")
		}
		return nil
	})
	down := time.Now()
	s.start()
	up := time.Now()
	eventually(t, "Alice decrypts Bob again", func() error { return decrypting(alice.Client(), "Bob", 20) })
	eventually(t, "Bob decrypts Alice again", func() error { return decrypting(bob.Client(), "Alice", 20) })
	t.Logf("both decrypt again %v after the server listened again (down %v)", time.Since(up).Round(time.Millisecond), up.Sub(down).Round(time.Millisecond))

	if alice.Joins() != 2 || bob.Joins() != 2 {
		t.Errorf("joins: Alice %d, Bob %d; want 2 each", alice.Joins(), bob.Joins())
	}
	if alice.Client().ID() == oldA || bob.Client().ID() == oldB {
		t.Errorf("a rejoin kept its participant id: it should be a new join")
	}
	// New keys under a new sender tag (of Bob's new participant id): a
	// sender never reuses a KID, and each join has its epochs afresh.
	for _, ts := range alice.Client().Stats().Tracks {
		if ts.From != "Bob" || ts.Decrypted == 0 || ts.Ended {
			continue
		}
		if tag, _, ok := trust.SplitKID(ts.LastKID); !ok || oldTags[tag] {
			t.Errorf("Bob's %s frames after the rejoin are under KID %#x, of the first join's sender tag", ts.Kind, ts.LastKID)
		}
	}
	if err := alice.Err(); err != nil {
		t.Errorf("Alice stopped: %v", err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
