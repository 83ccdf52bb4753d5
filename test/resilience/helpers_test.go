package resilience

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// patience only stops a hung test; nothing here asserts on speed.
const patience = 60 * time.Second

func testLogger() *slog.Logger {
	if os.Getenv("HOTLINE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// site is a demo line's data folder and the server serving it now.
type site struct {
	t    *testing.T
	dir  string
	d    *demo.Demo
	srv  *server.Server
	addr string // host:port of the HTTP listener, kept across restarts
}

// startSite starts a server with the demo line on loopback.
func startSite(t *testing.T) *site {
	t.Helper()
	return startSiteOn(t, "127.0.0.1:0")
}

// startSiteOn starts a server with the demo line listening on addr.
func startSiteOn(t *testing.T, addr string) *site {
	t.Helper()
	s := &site{t: t, dir: t.TempDir(), addr: addr}
	s.start()
	t.Cleanup(func() {
		if s.srv != nil {
			_ = s.srv.Close()
		}
	})
	return s
}

// start (re)starts the server on the same address and data folder.
func (s *site) start() {
	s.t.Helper()
	srv, d, err := server.StartDemo(context.Background(), server.Config{Listen: s.addr, DataDir: s.dir}, testLogger())
	if err != nil {
		s.t.Fatalf("start server: %v", err)
	}
	s.srv, s.d = srv, d
	s.addr = srv.URL()[len("http://"):]
}

// stop closes the server: every session is closed with status 1001.
func (s *site) stop() {
	s.t.Helper()
	if err := s.srv.Close(); err != nil {
		s.t.Errorf("close server: %v", err)
	}
	s.srv = nil
}

func (s *site) url() string { return "http://" + s.addr }

func (s *site) device(name string) *trust.Device {
	s.t.Helper()
	dev, err := s.d.EnrolDevice(demo.East, name)
	if err != nil {
		s.t.Fatal(err)
	}
	return dev
}

// attend keeps a publishing endpoint named name in call; it ends with the test.
func (s *site) attend(call, name string) *client.Attendee {
	s.t.Helper()
	cfg := client.Config{Server: s.url(), Line: demo.Line, Call: call, Device: s.device(name), Publish: true, Logger: testLogger().With("endpoint", name)}
	a := client.Attend(context.Background(), cfg, client.Backoff{})
	s.t.Cleanup(func() { _ = a.Close() })
	return a
}

// eventually is servertest.Eventually, named for these tests' many waits.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	servertest.Eventually(t, what, cond)
}

// decrypting: c's current session decrypts at least min video and audio
// frames from the publisher named from.
func decrypting(c *client.Client, from string, min uint64) error {
	if c == nil {
		return fmt.Errorf("between sessions")
	}
	var video, audio uint64
	for _, ts := range c.Stats().Tracks {
		if ts.From != from || ts.Ended {
			continue
		}
		switch ts.Kind {
		case protocol.KindVideo:
			video += ts.Decrypted
		case protocol.KindAudio:
			audio += ts.Decrypted
		}
	}
	if video < min || audio < min {
		return fmt.Errorf("decrypted %d video and %d audio frames from %s, want %d of each", video, audio, from, min)
	}
	return nil
}

// decryptingSession: c decrypts at least min video frames of a's current
// session (by its participant id, so an earlier session's do not count).
func decryptingSession(c *client.Client, a *client.Attendee, min uint64) error {
	s := a.Client()
	if s == nil {
		return fmt.Errorf("not joined yet")
	}
	for _, ts := range c.Stats().Tracks {
		if ts.Participant == s.ID() && ts.Kind == protocol.KindVideo && ts.Decrypted >= min {
			return nil
		}
	}
	return fmt.Errorf("nothing decrypted from %s yet", s.ID())
}

// videoDecrypted sums the video frames c decrypted from the publisher named from.
func videoDecrypted(c *client.Client, from string) uint64 {
	var n uint64
	for _, ts := range c.Stats().Tracks {
		if ts.From == from && ts.Kind == protocol.KindVideo {
			n += ts.Decrypted
		}
	}
	return n
}
