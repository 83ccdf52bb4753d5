package server_test

import (
	"context"
	"fmt"
	"testing"

	"hotline/internal/client"
	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// keyframeRequests is how many PLI and FIR c's camera has received.
func keyframeRequests(c *client.Client) uint64 {
	var n uint64
	for _, s := range c.Stats().Sent {
		if s.Kind == protocol.KindVideo {
			n += s.KeyframeRequests
		}
	}
	return n
}

// TestKeyframeMessage: a receiver's keyframe message (PROTOCOL.md,
// "keyframe"), the browser's way to ask for a key frame when it installs
// a new key, reaches the publisher as a PLI on its camera. One naming a
// participant the receiver gets no video of, or none at all, changes
// nothing and is not answered; a malformed one is refused.
func TestKeyframeMessage(t *testing.T) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	alice := join(t, srv, "kf", "alice", nil)
	bob := join(t, srv, "kf", "bob", func(c *client.Config) { c.Publish = false })
	servertest.Eventually(t, "bob receives alice's video", flowing(bob, "bob", []string{"alice"}, []string{protocol.KindVideo}, 10))

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	send := func(msg string) {
		t.Helper()
		if err := bob.SendRaw(ctx, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	before := keyframeRequests(alice)
	send(fmt.Sprintf(`{"type":"keyframe","participant":%q}`, alice.ID()))
	servertest.Eventually(t, "alice's camera to be asked for a key frame", func() (bool, string) {
		n := keyframeRequests(alice)
		return n > before, fmt.Sprintf("%d requests, %d before", n, before)
	})

	send(`{"type":"keyframe","participant":"0123456789abcdef"}`) // nobody
	send(fmt.Sprintf(`{"type":"keyframe","participant":%q}`, bob.ID()))
	send(`{"type":"keyframe","participant":"../x"}`)
	servertest.Eventually(t, "the malformed keyframe message refused", func() (bool, string) {
		errs := bob.Errors()
		for _, e := range errs {
			if e.Ref == protocol.TypeKeyframe && e.Code == protocol.CodeBadMessage {
				return true, ""
			}
		}
		return false, fmt.Sprintf("errors %+v", errs)
	})
	for _, e := range bob.Errors() {
		if e.Code != protocol.CodeBadMessage {
			t.Errorf("bob got %+v", e)
		}
	}
	if st := bob.Err(); st != nil {
		t.Errorf("bob's session ended: %v", st)
	}
}
