package call

import (
	"errors"
	"testing"

	"hotline/internal/protocol"
)

// TestRevoke (PROTOCOL.md, "Revocation"): a revoked device is taken out of
// every live call of its line (told as a removal) and the others' roster
// carries the lists; it cannot join again, not even to replace its own
// session; a call of another line is untouched; a later list that
// withdraws the revocation lets it in again.
func TestRevoke(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 8})
	alice := &member{id: "a", name: "Alice", device: "dev-alice"}
	eve := &member{id: "e", name: "Eve", device: "dev-eve"}
	eveElsewhere := &member{id: "e2", name: "Eve", device: "dev-eve"}
	c, _ := join(reg, "demo/x", alice)
	if _, err := join(reg, "demo/x", eve); err != nil {
		t.Fatal(err)
	}
	other, err := join(reg, "other/x", eveElsewhere)
	if err != nil {
		t.Fatal(err)
	}
	lists := []protocol.Credential{{Body: "list-body", Sig: "list-sig"}}
	if n := reg.Revoke("demo", lists, []string{"dev-eve"}); n != 1 {
		t.Fatalf("took out %d members, want 1", n)
	}
	if got := eve.got(); got != "[removed-by:"+RevokedBy+"]" {
		t.Fatalf("Eve was told %s", got)
	}
	r := c.Roster()
	if len(r.Participants) != 1 || r.Participants[0].ID != "a" || len(r.Revocations) != 1 || r.Revocations[0] != lists[0] {
		t.Fatalf("roster after the revocation: %+v", r)
	}
	alice.mu.Lock()
	seen := alice.roster
	alice.mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("Alice's last roster has %d entries", len(seen))
	}
	again := &member{id: "e3", name: "Eve", device: "dev-eve"}
	if _, err := join(reg, "demo/x", again); !errors.Is(err, ErrRevoked) {
		t.Fatalf("the revoked device joined again: %v", err)
	}
	if _, err := join(reg, "demo/y", again); !errors.Is(err, ErrRevoked) {
		t.Fatalf("the revoked device joined another call of the line: %v", err)
	}
	if len(other.Roster().Participants) != 1 || len(other.Roster().Revocations) != 0 {
		t.Fatalf("a call of another line changed: %+v", other.Roster())
	}
	reg.Revoke("demo", []protocol.Credential{{Body: "newer", Sig: "s"}}, nil)
	if _, err := join(reg, "demo/x", again); err != nil {
		t.Fatalf("after the withdrawal: %v", err)
	}
}
