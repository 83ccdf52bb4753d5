package resilience

import (
	"context"
	"fmt"
	"testing"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/tier"
)

// TestRejoinKeepsAdmission: an adviser waits in the lobby and its side's
// principal admits it. Its connection is then lost and its device joins
// again (a new session, as a page or client that lost its line does,
// replacing the stale one): it comes back into the call, not to the
// lobby, and the principal decrypts its media without admitting it again
// (docs/PROTOCOL.md, "A kept place").
func TestRejoinKeepsAdmission(t *testing.T) {
	tier.Integration(t)
	s := startSite(t)
	bob := s.attend("kept", "Bob")
	dev, err := s.d.EnrolDevice(demo.East, "Ada", role.Adviser)
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{Server: s.url(), Line: demo.Line, Call: "kept", Device: dev, Publish: true, Logger: testLogger().With("endpoint", "Ada")}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	first, err := client.Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	stateOf := func(id string) string {
		c := bob.Client()
		if c == nil {
			return "Bob between sessions"
		}
		for _, p := range c.Roster() {
			if p.ID == id {
				return p.State
			}
		}
		return "not in Bob's roster"
	}
	eventually(t, "Ada to wait in the lobby", func() error {
		if st := stateOf(first.ID()); st != protocol.StateWaiting {
			return fmt.Errorf("Ada is %s", st)
		}
		return nil
	})
	if err := bob.Client().Admit(ctx, first.ID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob decrypts Ada", func() error { return decrypting(bob.Client(), "Ada", 10) })

	second := client.Attend(context.Background(), cfg, client.Backoff{})
	t.Cleanup(func() { _ = second.Close() })
	eventually(t, "Bob decrypts Ada's second session, with no second admission", func() error {
		c := second.Client()
		if c == nil {
			return fmt.Errorf("not joined yet")
		}
		if st := stateOf(c.ID()); st != protocol.StateIn {
			return fmt.Errorf("Ada's second session is %s", st)
		}
		return decryptingSession(bob.Client(), second, 10)
	})
}
