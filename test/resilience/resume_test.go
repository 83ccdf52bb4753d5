package resilience

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/tier"
	"hotline/internal/topology"
)

// TestResumeAfterSocketLoss: the signalling socket dies without a word (a
// reset on the client's side; the server's side stays open and silent, as
// after a network change). The client resumes its session over a new
// socket: the same participant id, the same PeerConnection and keys, no
// rejoin, and nobody sees the roster change.
func TestResumeAfterSocketLoss(t *testing.T) {
	tier.Integration(t)
	s := startSite(t)
	px := topology.NewRelay(t, s.addr)
	cfg := client.Config{Server: "http://" + px.Addr(), Line: demo.Line, Call: "resume", Device: s.device("Alice"), Publish: true, Logger: testLogger()}
	alice := client.Attend(context.Background(), cfg, client.Backoff{})
	t.Cleanup(func() { _ = alice.Close() })
	bob := s.attend("resume", "Bob")
	eventually(t, "Alice decrypts Bob", func() error { return decrypting(alice.Client(), "Bob", 20) })
	eventually(t, "Bob decrypts Alice", func() error { return decrypting(bob.Client(), "Alice", 20) })
	c := alice.Client()
	id := c.ID()
	rosterBefore := ids(bob.Client())

	px.Cut()
	eventually(t, "Alice resumes", func() error {
		if c.Resumes() != 1 {
			return fmt.Errorf("%d resumptions", c.Resumes())
		}
		return nil
	})
	before := videoDecrypted(c, "Bob")
	beforeB := videoDecrypted(bob.Client(), "Alice")
	eventually(t, "media both ways after the resumption", func() error {
		if n := videoDecrypted(c, "Bob"); n < before+30 {
			return fmt.Errorf("Alice decrypted %d more frames from Bob", n-before)
		}
		if n := videoDecrypted(bob.Client(), "Alice"); n < beforeB+30 {
			return fmt.Errorf("Bob decrypted %d more frames from Alice", n-beforeB)
		}
		return nil
	})
	if alice.Client() != c || c.ID() != id || alice.Joins() != 1 || bob.Joins() != 1 {
		t.Errorf("a rejoin happened (joins: Alice %d, Bob %d)", alice.Joins(), bob.Joins())
	}
	if after := ids(bob.Client()); !slices.Equal(after, rosterBefore) {
		t.Errorf("Bob's roster changed from %v to %v", rosterBefore, after)
	}
	// The session goes on over the new socket: an action still works.
	if err := c.Unpublish(context.Background(), "cam0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob sees the camera end", func() error {
		for _, ts := range bob.Client().Stats().Tracks {
			if ts.From == "Alice" && ts.Track == "cam0" && !ts.Ended {
				return fmt.Errorf("still receiving")
			}
		}
		return nil
	})
}

func ids(c *client.Client) []string {
	var out []string
	for _, p := range c.Roster() {
		out = append(out, p.ID)
	}
	slices.Sort(out)
	return out
}
