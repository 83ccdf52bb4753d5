package resilience

import (
	"context"
	"strings"
	"testing"

	"hotline/internal/call"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/tier"
)

// TestRejoinReplacesStaleSession: a device joins a call it is still in (its
// first session's connection was lost and the server has not noticed yet).
// The new session takes its place at once, instead of being refused until
// the server times the old one out; the old session is told why and does
// not come back on its own.
func TestRejoinReplacesStaleSession(t *testing.T) {
	tier.Integration(t)
	s := startSite(t)
	dev := s.device("Alice")
	bob := s.attend("again", "Bob")
	cfg := client.Config{Server: s.url(), Line: demo.Line, Call: "again", Device: dev, Publish: true, Logger: testLogger()}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	first, err := client.Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	eventually(t, "Bob decrypts Alice", func() error { return decrypting(bob.Client(), "Alice", 10) })

	second := client.Attend(context.Background(), cfg, client.Backoff{})
	t.Cleanup(func() { _ = second.Close() })
	eventually(t, "Bob decrypts Alice's second session", func() error { return decryptingSession(bob.Client(), second, 10) })
	<-first.Done()
	var told bool
	for _, e := range first.Errors() {
		told = told || e.Code == protocol.CodeRemoved && strings.Contains(e.Message, call.ReplacedBy)
	}
	if !told {
		t.Errorf("the replaced session was told %+v", first.Errors())
	}
	n := 0
	for _, p := range bob.Client().Roster() {
		if p.Device == dev.ID() {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the device is %d times in Bob's roster", n)
	}
}
