package server_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// Generous bounds that only stop a hung test; nothing here measures speed.
const patience = 30 * time.Second

// startServer starts a server whose data folder holds the demo line
// (demo.Line), so that devices enrolled with demoDevice may join: the
// integration tier.
func startServer(t *testing.T, cfg server.Config) *servertest.Server {
	t.Helper()
	tier.Integration(t)
	return servertest.Start(t, cfg, servertest.Logger())
}

// demoDevice enrols a fresh device named name on srv's demo line (east).
func demoDevice(t *testing.T, srv *servertest.Server, name string) *trust.Device {
	t.Helper()
	return srv.Device(t, demo.East, name)
}

// callKey is how the server names a call of the demo line (in the registry
// and the history): calls are named within their line.
func callKey(call string) string { return demo.Line + "/" + call }

// join enrols a fresh device named name and joins call on the demo line.
func join(t *testing.T, srv *servertest.Server, call, name string, mod func(*client.Config)) *client.Client {
	t.Helper()
	return joinWith(t, srv, call, name, demoDevice(t, srv, name), mod)
}

// joinWith joins call on the demo line with dev, publishing unless mod says
// otherwise; the client closes with the test.
func joinWith(t *testing.T, srv *servertest.Server, call, name string, dev *trust.Device, mod func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{Server: srv.URL(), Line: demo.Line, Call: call, Device: dev, Publish: true, Logger: servertest.Logger()}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, err := client.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("%s joins: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// received finds what c receives from the named publisher's track kind/source.
func received(c *client.Client, from, kind, source string) (client.TrackStats, bool) {
	for _, ts := range c.Stats().Tracks {
		if ts.From == from && ts.Kind == kind && (source == "" || ts.Source == source) && !ts.Ended {
			return ts, true
		}
	}
	return client.TrackStats{}, false
}

// flowing: c receives at least minFrames frames of each listed kind from each publisher.
func flowing(c *client.Client, name string, from []string, kinds []string, minFrames uint64) func() (bool, string) {
	return func() (bool, string) {
		for _, f := range from {
			for _, k := range kinds {
				ts, ok := received(c, f, k, "")
				if !ok {
					return false, fmt.Sprintf("%s has no %s track from %s (stats %+v)", name, k, f, c.Stats().Tracks)
				}
				if ts.Frames < minFrames || ts.Bytes == 0 {
					return false, fmt.Sprintf("%s got %d %s frames from %s (all: %+v)", name, ts.Frames, k, f, c.Stats().Tracks)
				}
				// End to end: the frames decrypt with the publisher's key.
				if ts.Decrypted == 0 {
					return false, fmt.Sprintf("%s decrypted no %s frame from %s (all: %+v)", name, k, f, c.Stats().Tracks)
				}
			}
		}
		return true, ""
	}
}

func TestFourEndpointsLeaveAndShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := startServer(t, server.Config{})
	names := []string{"alice", "bob", "carol", "dave"}
	clients := make([]*client.Client, len(names))
	for i, n := range names {
		clients[i] = join(t, srv, "summit", n, nil)
	}
	av := []string{protocol.KindAudio, protocol.KindVideo}
	for i, c := range clients {
		others := slices.Delete(slices.Clone(names), i, i+1)
		servertest.Eventually(t, names[i]+" receives everyone", flowing(c, names[i], others, av, 20))
	}
	// Each mid has one purpose (docs/PROTOCOL.md): never both sent and received on.
	for i, c := range clients {
		st := c.Stats()
		sent := map[string]bool{}
		for _, s := range st.Sent {
			sent[s.Mid] = true
		}
		for _, r := range st.Tracks {
			if sent[r.Mid] {
				t.Fatalf("%s: mid %s is in both the send and the receive table", names[i], r.Mid)
			}
		}
	}
	// Every roster lists all four, with two tracks each.
	for i, c := range clients {
		servertest.Eventually(t, names[i]+" roster", func() (bool, string) {
			r := c.Roster()
			if len(r) != 4 {
				return false, fmt.Sprintf("roster %+v", r)
			}
			for _, e := range r {
				if len(e.Tracks) != 2 {
					return false, fmt.Sprintf("roster entry %+v", e)
				}
			}
			return true, ""
		})
	}

	// dave leaves: his tracks end at the others, the others keep flowing.
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := clients[3].Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
	for i, c := range clients[:3] {
		servertest.Eventually(t, names[i]+" sees dave's tracks end", func() (bool, string) {
			for _, ts := range c.Stats().Tracks {
				if ts.From == "dave" && !ts.Ended {
					return false, fmt.Sprintf("%s track from dave not ended", ts.Kind)
				}
			}
			if len(c.Roster()) != 3 {
				return false, fmt.Sprintf("roster %+v", c.Roster())
			}
			return true, ""
		})
	}
	// The remaining three start a new key epoch (dave must not read what
	// follows): frames keep arriving and decrypting.
	snap := make([]client.TrackStats, 3)
	for i, c := range clients[:3] {
		snap[i], _ = received(c, names[(i+1)%3], protocol.KindVideo, "")
	}
	for i, c := range clients[:3] {
		servertest.Eventually(t, names[i]+" still receives after the leave", func() (bool, string) {
			ts, _ := received(c, names[(i+1)%3], protocol.KindVideo, "")
			return ts.Frames > snap[i].Frames+10 && ts.Decrypted > snap[i].Decrypted+10,
				fmt.Sprintf("frames %d then %d, decrypted %d then %d", snap[i].Frames, ts.Frames, snap[i].Decrypted, ts.Decrypted)
		})
	}
	if got := srv.Registry().Participants(); got != 3 {
		t.Fatalf("server counts %d participants after a leave, want 3", got)
	}

	// The attendance is on disk (written by the server's lifecycle, off
	// the call's lock, soon after the events).
	servertest.Eventually(t, "the attendance of four, dave gone", func() (bool, string) {
		h, err := srv.Store().Attendance(ctx, callKey("summit"), 10)
		if err != nil || len(h) != 4 {
			return false, fmt.Sprintf("%v %+v", err, h)
		}
		for _, s := range h {
			if s.Name == "dave" && s.Left.IsZero() {
				return false, "dave's departure not recorded"
			}
		}
		return true, ""
	})

	// Shutdown ends everyone's session and leaves no goroutine behind.
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for i, c := range clients[:3] {
		select {
		case <-c.Done():
		case <-time.After(patience):
			t.Fatalf("%s's session did not end at shutdown", names[i])
		}
	}
	for _, c := range clients {
		c.Close()
	}
	servertest.NoLeak(t, before)
}

func TestAudioOnlyCall(t *testing.T) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	a := join(t, srv, "phone", "alice", func(c *client.Config) { c.AudioOnly = true })
	b := join(t, srv, "phone", "bob", func(c *client.Config) { c.AudioOnly = true })
	servertest.Eventually(t, "alice hears bob", flowing(a, "alice", []string{"bob"}, []string{protocol.KindAudio}, 50))
	servertest.Eventually(t, "bob hears alice", flowing(b, "bob", []string{"alice"}, []string{protocol.KindAudio}, 50))
	for _, c := range []*client.Client{a, b} {
		for _, ts := range c.Stats().Tracks {
			if ts.Kind == protocol.KindVideo {
				t.Fatalf("video track in an audio-only call: %+v", ts)
			}
		}
	}
}

func TestTwoCameras(t *testing.T) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	p := join(t, srv, "x", "principal", func(c *client.Config) { c.Cameras = 2 })
	m := join(t, srv, "x", "monitor", func(c *client.Config) { c.Publish = false })
	servertest.Eventually(t, "monitor receives both cameras and the mic", func() (bool, string) {
		for _, src := range []string{"camera", "camera2"} {
			ts, ok := received(m, "principal", protocol.KindVideo, src)
			if !ok || ts.Frames < 20 || ts.Decrypted == 0 {
				return false, fmt.Sprintf("%s: %+v", src, m.Stats().Tracks)
			}
		}
		ts, ok := received(m, "principal", protocol.KindAudio, "")
		return ok && ts.Frames > 20 && ts.Decrypted > 0, "no audio"
	})
	// A third camera mid-call arrives too; the receive-only monitor sends nothing.
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := p.PublishCamera(ctx, "cam2", "camera3"); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "third camera", func() (bool, string) {
		ts, ok := received(m, "principal", protocol.KindVideo, "camera3")
		return ok && ts.Frames > 20 && ts.Decrypted > 0, fmt.Sprintf("%+v", m.Stats().Tracks)
	})
	if n := len(p.Stats().Tracks); n != 0 {
		t.Fatalf("principal receives %d tracks from a receive-only monitor", n)
	}
}

func TestBadMessagesDoNotHurtTheCall(t *testing.T) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	a := join(t, srv, "x", "alice", nil)
	b := join(t, srv, "x", "bob", nil)
	servertest.Eventually(t, "media before", flowing(b, "bob", []string{"alice"}, []string{protocol.KindVideo}, 10))

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	// A second join, well formed (a valid credential, a proof over some
	// nonce): the session is joined already.
	again := joinJSON(t, demoDevice(t, srv, "again"), make([]byte, trust.NonceSize), "x", nil)
	bad := []struct{ msg, code string }{
		{`not json`, protocol.CodeBadMessage},
		{`{"type":"explode"}`, protocol.CodeBadMessage},
		{again, protocol.CodeState},
		{`{"type":"answer","sdp":"v=0\r\n"}`, protocol.CodeState},
		{`{"type":"unpublish","track":"nope"}`, protocol.CodeRefused},
		{`{"type":"publish","tracks":[{"id":"mic","kind":"audio"}]}`, protocol.CodeRefused},
		{`{"type":"candidate","candidate":{"candidate":"garbage"}}`, protocol.CodeBadMessage},
	}
	for _, m := range bad {
		if err := a.SendRaw(ctx, []byte(m.msg)); err != nil {
			t.Fatal(err)
		}
	}
	servertest.Eventually(t, "an error for each bad message", func() (bool, string) {
		errs := a.Errors()
		if len(errs) < len(bad) {
			return false, fmt.Sprintf("%d errors: %+v", len(errs), errs)
		}
		for i, m := range bad {
			if errs[i].Code != m.code {
				return false, fmt.Sprintf("message %q: error %+v, want code %s", m.msg, errs[i], m.code)
			}
		}
		return true, ""
	})
	before, _ := received(b, "alice", protocol.KindVideo, "")
	servertest.Eventually(t, "media after", func() (bool, string) {
		now, _ := received(b, "alice", protocol.KindVideo, "")
		return now.Frames > before.Frames+20 && now.Decrypted > before.Decrypted+20,
			fmt.Sprintf("%d → %d frames, %d → %d decrypted", before.Frames, now.Frames, before.Decrypted, now.Decrypted)
	})
	if len(b.Errors()) != 0 {
		t.Fatalf("bob got errors caused by alice: %+v", b.Errors())
	}
	if got := srv.Registry().Participants(); got != 2 {
		t.Fatalf("%d participants, want 2", got)
	}
}

// A join into a full call is refused, and nothing of it is stored.
func TestCallFullRefusal(t *testing.T) {
	srv := startServer(t, server.Config{MaxParticipants: 2})
	defer srv.Close()
	join(t, srv, "x", "a", nil)
	join(t, srv, "x", "b", nil)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "x", Device: demoDevice(t, srv, "c"), Publish: true, Logger: servertest.Logger()})
	if err == nil || !strings.Contains(err.Error(), protocol.CodeRefused) {
		t.Fatalf("third join in a 2-person call: %v", err)
	}
	if got := srv.Registry().Participants(); got != 2 {
		t.Fatalf("%d participants after a refused join", got)
	}
	// The two members' rows are written soon after their joins; a refused
	// join makes no event, so no third row ever follows.
	servertest.Eventually(t, "two attendance rows", func() (bool, string) {
		h, _ := srv.Store().Attendance(ctx, callKey("x"), 10)
		return len(h) == 2, fmt.Sprintf("%+v", h)
	})
}

func TestHealthz(t *testing.T) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	resp, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("security headers missing on /healthz")
	}
}

// People coming and going in a long call: each visit's tracks arrive and end
// at the one who stays, and the call goes on.
func TestChurn(t *testing.T) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	a := join(t, srv, "long", "principal", nil)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("adviser%d", i)
		v := join(t, srv, "long", name, nil)
		servertest.Eventually(t, "principal receives "+name, flowing(a, "principal", []string{name}, []string{protocol.KindAudio, protocol.KindVideo}, 5))
		servertest.Eventually(t, name+" receives principal", flowing(v, name, []string{"principal"}, []string{protocol.KindAudio, protocol.KindVideo}, 5))
		if err := v.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		servertest.Eventually(t, name+"'s tracks end", func() (bool, string) {
			for _, ts := range a.Stats().Tracks {
				if !ts.Ended {
					return false, "still receiving from " + ts.From
				}
			}
			return true, ""
		})
	}
	if n := len(a.Stats().Tracks); n != 8 {
		t.Fatalf("principal saw %d tracks over four visits, want 8", n)
	}
}
