package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"hotline/internal/protocol"
)

// fakeSignalling is a scripted signalling server: it decodes the join with
// the server's own strict decoder, then runs script. Loopback only.
type fakeSignalling struct {
	script func(ctx context.Context, conn *websocket.Conn, join *protocol.Join)

	mu    sync.Mutex
	got   [][]byte // every message received after the join
	joins []*protocol.Join
}

func (f *fakeSignalling) start(t *testing.T) *httptest.Server {
	// httptest's Close does not wait for hijacked (WebSocket) handlers, so
	// they are counted here; closed keeps Add from racing with Wait.
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		closed bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if closed {
			mu.Unlock()
			return
		}
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		if r.URL.Path != "/ws" {
			http.NotFound(w, r)
			return
		}
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		_, data, err := conn.Read(r.Context())
		if err != nil {
			return
		}
		msg, err := protocol.Decode(data)
		join, ok := msg.(*protocol.Join)
		if err != nil || !ok {
			t.Errorf("first message %s: %v", data, err)
			return
		}
		f.mu.Lock()
		f.joins = append(f.joins, join)
		f.mu.Unlock()
		f.script(r.Context(), conn, join)
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		closed = true
		mu.Unlock()
		wg.Wait()
	})
	return srv
}

// readAll records messages until the client closes or sends leave.
func (f *fakeSignalling) readAll(ctx context.Context, conn *websocket.Conn) {
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.got = append(f.got, data)
		f.mu.Unlock()
		if msg, err := protocol.Decode(data); err == nil {
			if _, ok := msg.(*protocol.Leave); ok {
				conn.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	}
}

func welcome(ctx context.Context, conn *websocket.Conn, join *protocol.Join) error {
	return wsjson.Write(ctx, conn, protocol.Welcome{Type: protocol.TypeWelcome, Version: 1, ID: "0123456789abcdef", Call: join.Call})
}

func TestJoinWelcomeRosterLeave(t *testing.T) {
	checkGoroutines(t)
	f := &fakeSignalling{}
	f.script = func(ctx context.Context, conn *websocket.Conn, join *protocol.Join) {
		if welcome(ctx, conn, join) != nil {
			return
		}
		// Garbage is skipped, not fatal: bad JSON, an unknown field, a binary frame.
		conn.Write(ctx, websocket.MessageText, []byte("{not json"))
		conn.Write(ctx, websocket.MessageText, []byte(`{"type":"roster","participants":[],"extra":1}`))
		conn.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
		wsjson.Write(ctx, conn, protocol.ErrorMsg{Type: protocol.TypeError, Code: protocol.CodeState, Message: "test"})
		wsjson.Write(ctx, conn, protocol.Roster{Type: protocol.TypeRoster, Participants: []protocol.RosterEntry{
			{ID: "0123456789abcdef", Name: join.Name, Tracks: join.Tracks}}})
		f.readAll(ctx, conn)
	}
	srv := f.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Join(ctx, Config{Server: srv.URL + "/", Call: "room-1", Name: "Zoë Ω", Publish: true, Cameras: 2, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "0123456789abcdef" {
		t.Errorf("id %q", c.ID())
	}
	waitFor(t, "roster", 5*time.Second, func() error {
		if len(c.Roster()) != 1 {
			return errors.New("no roster")
		}
		return nil
	})
	if errs := c.Errors(); len(errs) != 1 || errs[0].Code != protocol.CodeState {
		t.Errorf("errors %+v", errs)
	}
	join := f.joins[0]
	var ids []string
	for _, tr := range join.Tracks {
		ids = append(ids, tr.ID+"/"+tr.Kind+"/"+tr.Source)
	}
	if got := strings.Join(ids, " "); got != "mic/audio/mic cam0/video/camera cam1/video/camera2" {
		t.Errorf("join announced %s", got)
	}
	if err := c.SendRaw(ctx, []byte(`{"type":"bogus"}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.Leave(ctx); err != nil {
		t.Errorf("leave: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Leave")
	}
	if c.Err() != nil {
		t.Errorf("Err after a normal leave: %v", c.Err())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) != 2 || string(f.got[0]) != `{"type":"bogus"}` || string(f.got[1]) != `{"type":"leave"}` {
		t.Errorf("server received %q", f.got)
	}
}

func TestJoinRefused(t *testing.T) {
	checkGoroutines(t)
	f := &fakeSignalling{script: func(ctx context.Context, conn *websocket.Conn, join *protocol.Join) {
		wsjson.Write(ctx, conn, protocol.ErrorMsg{Type: protocol.TypeError, Code: protocol.CodeRefused, Message: "call full", Ref: "join"})
		conn.Close(websocket.StatusNormalClosure, "")
	}}
	srv := f.start(t)
	_, err := Join(context.Background(), Config{Server: srv.URL, Call: "full", Name: "Late", Logger: testLogger(t)})
	var se *ServerError
	if !errors.As(err, &se) || se.Msg.Code != protocol.CodeRefused {
		t.Fatalf("Join = %v, want a refused ServerError", err)
	}
	if len(f.joins[0].Tracks) != 0 {
		t.Errorf("a receive-only client announced %+v", f.joins[0].Tracks)
	}
}

func TestJoinTimesOutWithoutWelcome(t *testing.T) {
	checkGoroutines(t)
	f := &fakeSignalling{script: func(ctx context.Context, conn *websocket.Conn, _ *protocol.Join) {
		conn.Read(ctx) // says nothing until the client gives up
	}}
	srv := f.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Join(ctx, Config{Server: srv.URL, Call: "x", Name: "n", Logger: testLogger(t)}); err == nil {
		t.Fatal("Join succeeded without a welcome")
	}
}

// A message over the protocol's bound ends the session (the WebSocket read
// limit closes it with 1009) instead of being buffered.
func TestOversizedMessageEndsSession(t *testing.T) {
	checkGoroutines(t)
	f := &fakeSignalling{script: func(ctx context.Context, conn *websocket.Conn, join *protocol.Join) {
		if welcome(ctx, conn, join) != nil {
			return
		}
		big := `{"type":"roster","participants":[],"x":"` + strings.Repeat("a", protocol.MaxMessageBytes) + `"}`
		conn.Write(ctx, websocket.MessageText, []byte(big))
		conn.Read(ctx)
	}}
	srv := f.start(t)
	c, err := Join(context.Background(), Config{Server: srv.URL, Call: "x", Name: "n", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session still open after an oversized message")
	}
	if c.Err() == nil {
		t.Error("Err is nil after an oversized message")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{Server: "ftp://x", Call: "c", Name: "n"},
		{Server: "http://", Call: "c", Name: "n"},
		{Server: "http://127.0.0.1:1", Call: "bad call", Name: "n"},
		{Server: "http://127.0.0.1:1", Call: "c", Name: ""},
		{Server: "http://127.0.0.1:1", Call: "c", Name: "n", AudioOnly: true, Cameras: 1},
		{Server: "http://127.0.0.1:1", Call: "c", Name: "n", Cameras: protocol.MaxTracks},
		{Server: "http://127.0.0.1:1", Call: "c", Name: "n", Cameras: -1},
	} {
		if _, err := Join(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Join(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestSignallingURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":        "ws://127.0.0.1:8080/ws",
		"https://example.org/":         "wss://example.org/ws",
		"https://example.org/hotline/": "wss://example.org/hotline/ws",
		"http://[::1]:80/?q=1#f":       "ws://[::1]:80/ws",
	} {
		got, _, err := signallingURL(in)
		if err != nil || got != want {
			t.Errorf("signallingURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true,
		"10.0.0.1": false, "example.org": false, "::ffff:10.0.0.1": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", host, got)
		}
	}
}
