package server_test

import (
	"context"
	"fmt"
	"testing"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/servertest"
)

// TestRemoval (PROTOCOL.md, "Removal"; THREAT_MODEL.md, "a removed member
// decrypts nothing new"): an adviser may not remove anyone and a principal
// may not remove the other side's people — both refusals change nothing;
// the east principal removes its adviser, who is told and disconnected, and
// the two principals move to a new epoch whose frames they decrypt.
func TestRemoval(t *testing.T) {
	l := startE2EELine(t)
	alice := l.joinAs("rm", demo.East, "Alice", []role.Role{role.Principal}, nil)
	adam := l.joinAs("rm", demo.East, "Adam", []role.Role{role.Adviser}, nil)
	walt := l.joinAs("rm", demo.West, "Walt", []role.Role{role.Principal}, nil)
	ctx0, cancel0 := context.WithTimeout(context.Background(), patience)
	defer cancel0()
	servertest.Eventually(t, "Adam in the lobby", func() error { return stateOf(alice, adam.ID(), protocol.StateWaiting) })
	if err := alice.Admit(ctx0, adam.ID()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Client{alice, adam, walt} {
		servertest.Eventually(t, "everyone decrypts everyone", func() error { return decryptedFromAll(c.Stats(), 2, 5) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()

	refusals := []struct {
		name   string
		by     *client.Client
		target string
	}{
		{"adviser removes the other principal", adam, walt.ID()},
		{"adviser removes its own principal", adam, alice.ID()},
		{"west principal removes an east adviser", walt, adam.ID()},
		{"east principal removes the west principal", alice, walt.ID()},
	}
	for _, r := range refusals {
		before := len(r.by.Errors())
		if err := r.by.Remove(ctx, r.target); err != nil {
			t.Fatal(err)
		}
		servertest.Eventually(t, r.name+": refused", func() error {
			errs := r.by.Errors()
			if len(errs) == before {
				return fmt.Errorf("no answer yet")
			}
			if e := errs[len(errs)-1]; e.Code != protocol.CodeForbidden || e.Ref != protocol.TypeRemove {
				return fmt.Errorf("answered %+v, want a forbidden error", e)
			}
			return nil
		})
	}
	if n := len(alice.Roster()); n != 3 {
		t.Fatalf("refused removals changed the roster: %d members", n)
	}
	select {
	case <-adam.Done():
		t.Fatal("a refused removal disconnected the adviser")
	default:
	}

	epoch0 := alice.Keys().KID()
	if err := alice.Remove(ctx, adam.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-adam.Done():
	case <-ctx.Done():
		t.Fatal("the removed adviser is still connected")
	}
	if e := lastError(adam); e == nil || e.Code != protocol.CodeRemoved {
		t.Fatalf("the adviser was told %+v, want code %q", e, protocol.CodeRemoved)
	}
	for _, c := range []*client.Client{alice, walt} {
		servertest.Eventually(t, "the roster drops the adviser", func() error {
			if r := c.Roster(); len(r) != 2 {
				return fmt.Errorf("%d members", len(r))
			}
			return nil
		})
	}
	servertest.Eventually(t, "Alice moves to a new epoch", func() error {
		if alice.Keys().KID() == epoch0 {
			return fmt.Errorf("still KID %d", epoch0)
		}
		return nil
	})
	newKID := alice.Keys().KID()
	servertest.Eventually(t, "Walt decrypts Alice's new epoch", func() error {
		for _, tr := range walt.Stats().Tracks {
			if tr.Participant == alice.ID() && tr.LastKID == newKID && tr.Decrypted > 0 {
				return nil
			}
		}
		return fmt.Errorf("no frame under KID %d yet", newKID)
	})
}

func lastError(c *client.Client) *protocol.ErrorMsg {
	errs := c.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &errs[len(errs)-1]
}

// stateOf checks the state c's roster gives participant id.
func stateOf(c *client.Client, id, want string) error {
	for _, e := range c.Roster() {
		if e.ID == id {
			if e.State != want {
				return fmt.Errorf("%s is %s, want %s", e.Name, e.State, want)
			}
			return nil
		}
	}
	return fmt.Errorf("%s is not in the roster", id)
}
