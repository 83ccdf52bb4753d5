package resilience

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// TestRejoinAtEpochExhaustion (issue 10, item 4): a sender whose epochs run
// out stops sending (never reuses a KID), leaves and joins again by
// itself; the new stay's participant id gives a new sender tag, so its
// epochs start at 0 afresh and the others decrypt it again. MaxEpoch 1
// stands in for 65535: two departures exhaust Alice's first stay.
func TestRejoinAtEpochExhaustion(t *testing.T) {
	tier.Integration(t)
	s := startSite(t)
	cfg := client.Config{Server: s.url(), Line: demo.Line, Call: "epochs", Device: s.device("Alice"), Publish: true,
		MaxEpoch: 1, Logger: testLogger().With("endpoint", "Alice")}
	alice := client.Attend(context.Background(), cfg, client.Backoff{})
	t.Cleanup(func() { _ = alice.Close() })
	bob := s.attend("epochs", "Bob")
	eventually(t, "Bob decrypts Alice", func() error { return decrypting(bob.Client(), "Alice", 10) })
	first := alice.Client()
	firstID, firstKID := first.ID(), first.Keys().KID()

	// Two departures: the first takes Alice to epoch 1, her last; the
	// second would need epoch 2.
	for i := range 2 {
		carol := s.attend("epochs", fmt.Sprintf("Carol %d", i))
		eventually(t, "Alice holds Carol's key", func() error {
			if len(first.Keys().Members()) != 2 {
				return fmt.Errorf("Alice has %d members", len(first.Keys().Members()))
			}
			return nil
		})
		if err := carol.Close(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			eventually(t, "Alice at epoch 1", func() error {
				if e := first.Keys().Stats().Epoch; e != 1 {
					return fmt.Errorf("epoch %d", e)
				}
				return nil
			})
		}
	}
	<-first.Done()
	if !errors.Is(first.Err(), client.ErrEpochsExhausted) {
		t.Fatalf("Alice's first session ended with %v, want ErrEpochsExhausted", first.Err())
	}
	if first.Keys().Sender().HasKey() {
		t.Error("the exhausted sender still has a key")
	}
	eventually(t, "Bob decrypts Alice's next stay", func() error {
		c := alice.Client()
		if c == nil || c == first {
			return fmt.Errorf("not joined again yet")
		}
		for _, ts := range bob.Client().Stats().Tracks {
			if ts.Participant == c.ID() && ts.Kind == protocol.KindVideo && ts.Decrypted >= 10 {
				return nil
			}
		}
		return fmt.Errorf("nothing decrypted from %s yet", c.ID())
	})
	next := alice.Client()
	tag0, _, _ := trust.SplitKID(firstKID)
	tag, epoch, _ := trust.SplitKID(next.Keys().KID())
	if next.ID() == firstID || tag == tag0 || epoch != 0 {
		t.Errorf("next stay %s (was %s): KID tag %x epoch %d (first stay's tag %x)", next.ID(), firstID, tag, epoch, tag0)
	}
	if alice.Joins() != 2 {
		t.Errorf("Alice joined %d times, want 2", alice.Joins())
	}
}
