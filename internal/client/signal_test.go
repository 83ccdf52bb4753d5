package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"hotline/internal/e2ee"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// fakeSignalling is a scripted signalling server: it sends the challenge,
// decodes the join with the server's own strict decoder, checks it as the
// server's gate would (a credential valid for the test line, a proof over
// this connection's nonce), then runs script. Loopback only.
type fakeSignalling struct {
	script func(ctx context.Context, conn *websocket.Conn, join *protocol.Join)
	// noChallenge: the server accepts the connection and says nothing.
	noChallenge bool

	mu    sync.Mutex
	got   [][]byte        // every message received after the join, key messages aside
	keys  []*protocol.Key // key messages received after the join
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
		if f.noChallenge {
			conn.Read(r.Context()) // until the client gives up
			return
		}
		nonce := make([]byte, trust.NonceSize)
		rand.Read(nonce)
		if err := wsjson.Write(r.Context(), conn, protocol.Challenge{Type: protocol.TypeChallenge, Version: protocol.Version, Nonce: trust.B64(nonce)}); err != nil {
			return
		}
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
		if err := checkJoin(join, nonce, trust.ServerName(r.Host, false)); err != nil {
			t.Errorf("join %s: %v", data, err)
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

// checkJoin is what the server's gate checks of a version 2 join; server
// is the name the client dialled (the request's Host).
func checkJoin(join *protocol.Join, nonce []byte, server string) error {
	if join.Version != protocol.Version || join.Line != testLine {
		return errors.New("wrong version or line")
	}
	who, err := verifyWire(join.Credential)
	if err != nil {
		return err
	}
	proof, err := trust.DecodeB64(join.Proof)
	if err != nil {
		return err
	}
	return trust.VerifyJoinProof(who.SigKey, nonce, server, join.Line, join.Call, proof)
}

// verifyWire verifies a wire credential against the test line's authorities.
func verifyWire(c protocol.Credential) (*trust.Identity, error) {
	as, err := testAuthorities()
	if err != nil {
		return nil, err
	}
	return trust.VerifyCredential(trust.Credential{Body: c.Body, Sig: c.Sig}, []trust.Pin{as[0].Pin(), as[1].Pin()}, time.Now())
}

// entryOf is the roster entry the server makes of a join.
func entryOf(id string, join *protocol.Join) protocol.RosterEntry {
	who, err := verifyWire(join.Credential)
	if err != nil {
		panic(err) // checked by start already
	}
	return protocol.RosterEntry{ID: id, Device: who.DeviceID, Name: who.Name, Credential: join.Credential, State: protocol.StateIn, Listening: protocol.ListenFloor, Tracks: join.Tracks}
}

// entryOfDevice is a roster entry for another member's device.
func entryOfDevice(id string, dev *trust.Device) protocol.RosterEntry {
	return protocol.RosterEntry{ID: id, Device: dev.ID(), Name: "member " + id, Credential: wireCredential(dev), State: protocol.StateIn, Listening: protocol.ListenFloor}
}

// readAll records messages until the client closes or sends leave.
func (f *fakeSignalling) readAll(ctx context.Context, conn *websocket.Conn) {
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		msg, err := protocol.Decode(data)
		f.mu.Lock()
		if k, ok := msg.(*protocol.Key); ok && err == nil {
			f.keys = append(f.keys, k)
		} else {
			f.got = append(f.got, data)
		}
		f.mu.Unlock()
		if err == nil {
			if _, ok := msg.(*protocol.Leave); ok {
				conn.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	}
}

func welcome(ctx context.Context, conn *websocket.Conn, join *protocol.Join) error {
	return wsjson.Write(ctx, conn, protocol.Welcome{Type: protocol.TypeWelcome, Version: protocol.Version, ID: "0123456789abcdef", Line: join.Line, Call: join.Call})
}

func TestJoinWelcomeRosterLeave(t *testing.T) {
	checkGoroutines(t)
	// Two others in the roster: Bob, enrolled on the line, and Mallory,
	// whose credential an authority the line does not pin signed.
	bob := testDevice(t, "Bob")
	mallory := foreignDevice(t, "Mallory")
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
		wsjson.Write(ctx, conn, protocol.Roster{Type: protocol.TypeRoster, Segment: protocol.SegmentPrivate, Participants: []protocol.RosterEntry{
			entryOf("0123456789abcdef", join), entryOfDevice("b0b", bob), entryOfDevice("ma11", mallory)}})
		f.readAll(ctx, conn)
	}
	srv := f.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	me := testDevice(t, "Zoë Ω")
	c, err := Join(ctx, Config{Server: srv.URL + "/", Line: testLine, Call: "room-1", Device: me, Publish: true, Cameras: 2, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "0123456789abcdef" {
		t.Errorf("id %q", c.ID())
	}
	if got := c.Keys().Self().Name; got != "Zoë Ω" {
		t.Errorf("display name %q, want the credential's", got)
	}
	servertest.Eventually(t, "roster", func() error {
		if len(c.Roster()) != 3 {
			return errors.New("no roster")
		}
		return nil
	})
	if errs := c.Errors(); len(errs) != 1 || errs[0].Code != protocol.CodeState {
		t.Errorf("errors %+v", errs)
	}
	// Mallory is a forgery; Bob, verified, is sent the current key, which
	// only he can open.
	if fs := c.Keys().Forgeries(); len(fs) != 1 || fs[0].ID != "ma11" {
		t.Errorf("forgeries %+v, want Mallory's entry only", fs)
	}
	servertest.Eventually(t, "a key for Bob", func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.keys) == 0 {
			return errors.New("no key message")
		}
		return nil
	})
	f.mu.Lock()
	keys := f.keys
	f.mu.Unlock()
	if len(keys) != 1 || keys[0].To != "b0b" || keys[0].KID != c.Keys().KID() {
		t.Fatalf("key messages %+v, want one to b0b of KID %d", keys, c.Keys().KID())
	}
	sealed, _ := trust.DecodeB64(keys[0].Sealed)
	sig, _ := trust.DecodeB64(keys[0].Sig)
	if base, err := e2ee.OpenKey(bob, c.Keys().Self(), keys[0].KID, testLine, "room-1", "0123456789abcdef", "b0b", sealed, sig); err != nil || len(base) != e2ee.BaseKeySize {
		t.Errorf("Bob cannot open the key sent to him: %v", err)
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
	_, err := Join(context.Background(), Config{Server: srv.URL, Line: testLine, Call: "full", Device: testDevice(t, "Late"), Logger: testLogger(t)})
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
	// The client gives up (its context ends) once the server has its join:
	// however long the join took to come, the welcome is what is missing.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Server: srv.URL, Line: testLine, Call: "x", Device: testDevice(t, "n"), Logger: testLogger(t)}
	done := make(chan error, 1)
	go func() {
		c, err := Join(ctx, cfg)
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	servertest.Eventually(t, "the join", func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.joins) != 1 {
			return fmt.Errorf("%d joins received, want 1", len(f.joins))
		}
		return nil
	})
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Join succeeded without a welcome")
	}
}

// A server that never sends the challenge gets no join: nothing to prove.
func TestJoinTimesOutWithoutChallenge(t *testing.T) {
	checkGoroutines(t)
	f := &fakeSignalling{noChallenge: true}
	srv := f.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Join(ctx, Config{Server: srv.URL, Line: testLine, Call: "x", Device: testDevice(t, "n"), Logger: testLogger(t)}); err == nil || !strings.Contains(err.Error(), "challenge") {
		t.Fatalf("Join without a challenge = %v, want an error about the challenge", err)
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
	c, err := Join(context.Background(), Config{Server: srv.URL, Line: testLine, Call: "x", Device: testDevice(t, "n"), Logger: testLogger(t)})
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
	dev := testDevice(t, "n")
	unenrolled, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{
		{Server: "ftp://x", Line: testLine, Call: "c", Device: dev},
		{Server: "http://", Line: testLine, Call: "c", Device: dev},
		{Server: "http://127.0.0.1:1", Line: testLine, Call: "bad call", Device: dev},
		{Server: "http://127.0.0.1:1", Line: "", Call: "c", Device: dev},
		{Server: "http://127.0.0.1:1", Line: "bad/line", Call: "c", Device: dev},
		{Server: "http://127.0.0.1:1", Line: testLine, Call: "c"},
		{Server: "http://127.0.0.1:1", Line: testLine, Call: "c", Device: unenrolled},
		{Server: "http://127.0.0.1:1", Line: testLine, Call: "c", Device: dev, AudioOnly: true, Cameras: 1},
		{Server: "http://127.0.0.1:1", Line: testLine, Call: "c", Device: dev, Cameras: protocol.MaxTracks},
		{Server: "http://127.0.0.1:1", Line: testLine, Call: "c", Device: dev, Cameras: -1},
	} {
		if _, err := Join(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Join(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

// foreignDevice is enrolled by an authority that the test line does not pin.
func foreignDevice(t *testing.T, name string) *trust.Device {
	t.Helper()
	a, err := trust.NewAuthority("east")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req, err := dev.Request("east", name, []role.Role{role.Principal}, now)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := a.Sign(req, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dev.Credential = &cred
	dev.Pins = []trust.Pin{a.Pin()}
	return dev
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

// The goroutine that reads the socket only reads: while the handler is busy
// with a message (standing for a slow roster or offer under load), the
// client still answers the server's pings, so the server does not close it
// with "ping timeout". Before the reader and the handler were split, the
// pings went unanswered until the handler returned.
func TestPingsAnsweredWhileHandlerIsBusy(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	busy := make(chan struct{}, 1)
	pinged := make(chan error, 1)
	f := &fakeSignalling{}
	f.script = func(ctx context.Context, conn *websocket.Conn, join *protocol.Join) {
		if welcome(ctx, conn, join) != nil {
			return
		}
		wsjson.Write(ctx, conn, protocol.Roster{Type: protocol.TypeRoster, Segment: protocol.SegmentPrivate,
			Participants: []protocol.RosterEntry{entryOf("0123456789abcdef", join)}})
		read := make(chan struct{})
		go func() { f.readAll(ctx, conn); close(read) }() // a Ping's pong arrives through a concurrent Read
		select {
		case <-busy:
		case <-read:
			return
		}
		var err error
		for range 3 {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				break
			}
		}
		pinged <- err
		<-read
	}
	srv := f.start(t)
	cfg := Config{Server: srv.URL, Line: testLine, Call: "x", Device: testDevice(t, "n"), Logger: testLogger(t)}
	cfg.handling = func(msg any) {
		if _, ok := msg.(*protocol.Roster); ok {
			busy <- struct{}{}
			<-release
		}
	}
	c, err := Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = <-pinged
	close(release)
	if err != nil {
		t.Fatalf("the server's ping went unanswered while the handler was busy: %v", err)
	}
	servertest.Eventually(t, "the roster handled once released", func() error {
		if len(c.Roster()) != 1 {
			return errors.New("no roster yet")
		}
		return nil
	})
}

// A server that sends faster than the client handles, without end, does
// not fill the client's memory: once inboxSize messages wait, the session
// ends with ErrBacklog (an Attendee then joins afresh).
func TestHandlerBacklogEndsSession(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	f := &fakeSignalling{}
	f.script = func(ctx context.Context, conn *websocket.Conn, join *protocol.Join) {
		if welcome(ctx, conn, join) != nil {
			return
		}
		read := make(chan struct{})
		go func() { f.readAll(ctx, conn); close(read) }()
		for range inboxSize + 2 {
			if wsjson.Write(ctx, conn, protocol.ErrorMsg{Type: protocol.TypeError, Code: protocol.CodeState, Message: "flood"}) != nil {
				break
			}
		}
		<-read
	}
	srv := f.start(t)
	cfg := Config{Server: srv.URL, Line: testLine, Call: "x", Device: testDevice(t, "n"), Logger: testLogger(t)}
	var once sync.Once
	cfg.handling = func(any) { once.Do(func() { <-release }) }
	c, err := Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-c.Done():
	case <-time.After(20 * time.Second):
		close(release)
		t.Fatal("the session is still open with more than inboxSize messages unhandled")
	}
	if !errors.Is(c.Err(), ErrBacklog) {
		t.Errorf("Err %v, want ErrBacklog", c.Err())
	}
	close(release)
}
