package client_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// receivedFrom checks that c gets audio and video from the named publisher,
// and decrypts them (SFrame, end to end).
func receivedFrom(c *client.Client, from string, minVideoFrames, minAudioPackets uint64) error {
	var audio, video *client.TrackStats
	for _, ts := range c.Stats().Tracks {
		if ts.From != from || ts.Ended {
			continue
		}
		switch ts.Kind {
		case protocol.KindAudio:
			audio = &ts
		case protocol.KindVideo:
			video = &ts
		}
	}
	switch {
	case audio == nil || video == nil:
		return fmt.Errorf("no audio and video track from %s yet: %+v", from, c.Stats().Tracks)
	case video.Frames < minVideoFrames || audio.Packets < minAudioPackets:
		return fmt.Errorf("from %s: %d video frames, %d audio packets so far", from, video.Frames, audio.Packets)
	case video.Decrypted == 0 || audio.Decrypted == 0:
		return fmt.Errorf("from %s: %d video and %d audio frames decrypted so far", from, video.Decrypted, audio.Decrypted)
	}
	return nil
}

func TestTwoClientsExchangeMedia(t *testing.T) {
	tier.Integration(t)
	client.CheckGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := client.TestLogger(t)
	srv := servertest.Start(t, server.Config{}, log)

	join := func(side, name string) *client.Client {
		c, err := client.Join(ctx, client.Config{
			Server: srv.URL(), Line: demo.Line, Call: "two", Device: srv.Device(t, side, name), Publish: true,
			Logger: log.With("client", name),
		})
		if err != nil {
			t.Fatalf("%s joins: %v", name, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	alice, bob := join(demo.East, "Alice"), join(demo.West, "Bob")
	if alice.ID() == "" || alice.ID() == bob.ID() {
		t.Fatalf("ids %q and %q", alice.ID(), bob.ID())
	}

	// One second of media is 30 video frames and 50 audio packets.
	servertest.Eventually(t, "Alice receives Bob", func() error { return receivedFrom(alice, "Bob", 30, 50) })
	servertest.Eventually(t, "Bob receives Alice", func() error { return receivedFrom(bob, "Alice", 30, 50) })
	servertest.Eventually(t, "roster", func() error {
		if r := alice.Roster(); len(r) != 2 {
			return fmt.Errorf("Alice's roster has %d entries", len(r))
		}
		return nil
	})
	for _, c := range []*client.Client{alice, bob} {
		for _, ts := range c.Stats().Tracks {
			t.Logf("%s ← %s %s/%s: %d packets, %d frames, %d bytes, %d lost, jitter %.2f ms, one-way p50 %.3f ms, first frame after %v",
				c.ID(), ts.From, ts.Kind, ts.Source, ts.Packets, ts.Frames, ts.Bytes, ts.Lost, ts.JitterMs, ts.OneWayP50Ms, ts.JoinToFirstFrame)
			if ts.Lost > ts.Packets/10 {
				t.Errorf("%d of %d packets lost on loopback", ts.Lost, ts.Packets)
			}
			// Publisher and receiver share the clock: nearly every frame's
			// timestamp reads back as a credible send time (a random
			// timestamp would almost never land within 10 s of arrival).
			if n := ts.OneWay.Count(); n == 0 || n < ts.Frames*9/10 || ts.OneWayP50Ms <= 0 || ts.OneWayP99Ms < ts.OneWayP50Ms {
				t.Errorf("%s/%s: %d one-way delays for %d frames, p50 %.3f ms, p99 %.3f ms",
					ts.From, ts.Kind, n, ts.Frames, ts.OneWayP50Ms, ts.OneWayP99Ms)
			}
			if ts.JoinToFirstFrame <= 0 {
				t.Errorf("%s/%s: no join time", ts.From, ts.Kind)
			}
			if ts.WrongSender > 0 {
				t.Errorf("%s/%s: %d frames under another member's key", ts.From, ts.Kind, ts.WrongSender)
			}
		}
		if f := c.Keys().Forgeries(); len(f) > 0 {
			t.Errorf("%s: forgeries in a roster of enrolled devices: %+v", c.ID(), f)
		}
		for _, ss := range c.Stats().Sent {
			if ss.Mid == "" || ss.Frames == 0 {
				t.Errorf("%s: local track %s not sent: %+v", c.ID(), ss.Track, ss)
			}
		}
		if errs := c.Errors(); len(errs) > 0 {
			t.Errorf("server errors: %+v", errs)
		}
	}

	// Both hold both keys: they show the same verification code.
	servertest.Eventually(t, "equal verification codes", func() error {
		a, aok := alice.Keys().Code()
		b, bok := bob.Keys().Code()
		if !aok || !bok || a != b {
			return fmt.Errorf("codes %q (%v) and %q (%v)", a, aok, b, bok)
		}
		return nil
	})

	// Bob leaves: his tracks end at Alice.
	if err := bob.Leave(ctx); err != nil {
		t.Errorf("Bob leaves: %v", err)
	}
	servertest.Eventually(t, "Bob's tracks end at Alice", func() error {
		for _, ts := range alice.Stats().Tracks {
			if ts.From == "Bob" && !ts.Ended {
				return fmt.Errorf("%s/%s still active", ts.From, ts.Track)
			}
		}
		return nil
	})
	if err := alice.Leave(ctx); err != nil {
		t.Errorf("Alice leaves: %v", err)
	}
}
