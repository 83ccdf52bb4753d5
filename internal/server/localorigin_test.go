package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"hotline/internal/apiclient"
	"hotline/internal/demo"
	"hotline/internal/httpapi"
	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// withOrigin sends every request with an Origin header, as a browser page
// at that origin does.
type withOrigin struct {
	origin string
	next   http.RoundTripper
}

func (o withOrigin) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Origin", o.origin)
	return o.next.RoundTrip(r)
}

func apiFrom(t *testing.T, srv *servertest.Server, origin string) *apiclient.Client {
	t.Helper()
	var rt http.RoundTripper = http.DefaultTransport
	if origin != "" {
		rt = withOrigin{origin, rt}
	}
	c, err := apiclient.New(srv.URL(), &http.Client{Transport: rt, Timeout: patience})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLocalOriginsPerLine (THREAT_MODEL.md, "Local client mode"): a local
// client page's origin listed for a line may sign in and join on that line
// only, its session is good only from that origin, and an unlisted origin
// gets nothing from /api/ or /ws.
func TestLocalOriginsPerLine(t *testing.T) {
	const (
		mine    = "http://127.0.0.1:8790" // listed for the demo line
		other   = "http://127.0.0.1:8791" // listed for another line only
		unknown = "http://127.0.0.1:9999" // listed nowhere
	)
	srv := startServer(t, server.Config{LocalOrigins: httpapi.LocalOrigins{demo.Line: {mine}, "other-line": {other}}})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()

	// The CORS preflight a browser sends before a sign-in.
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, srv.URL()+"/api/session", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := preflight(mine); res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != mine ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") || res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight from a listed origin: %d %v", res.StatusCode, res.Header)
	}
	for _, o := range []string{unknown, "https://elsewhere.example", "null"} {
		if res := preflight(o); res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from %s: %d %v, want 403 without CORS headers", o, res.StatusCode, res.Header)
		}
		if _, err := apiFrom(t, srv, o).Challenge(ctx); apiclient.Status(err) != http.StatusForbidden {
			t.Fatalf("challenge from %s: %v, want 403", o, err)
		}
		if _, err := apiFrom(t, srv, o).Do(ctx, "GET", "/calls/c-000000000000.ics", nil, nil); apiclient.Status(err) != http.StatusForbidden {
			t.Fatalf("a calendar file from %s: %v, want 403", o, err)
		}
	}

	dev := demoDevice(t, srv, "Local Page")
	local := apiFrom(t, srv, mine)
	if err := local.SignIn(ctx, dev, demo.Line); err != nil {
		t.Fatalf("sign-in from the listed origin: %v", err)
	}
	if _, err := local.Calls(ctx, demo.Line); err != nil {
		t.Fatalf("calls from the listed origin: %v", err)
	}
	// The session is bound to its origin: the same token from elsewhere,
	// even from no origin at all, is refused.
	for _, o := range []string{"", other} {
		if _, err := apiFrom(t, srv, o).WithToken(local.Token()).Calls(ctx, demo.Line); apiclient.Status(err) != http.StatusForbidden {
			t.Fatalf("a session from %s used from %q: %v, want 403", mine, o, err)
		}
	}
	// An origin listed for another line may not sign in on this one.
	if err := apiFrom(t, srv, other).SignIn(ctx, dev, demo.Line); apiclient.Status(err) != http.StatusForbidden {
		t.Fatalf("sign-in on %s from an origin of another line: %v, want 403", demo.Line, err)
	}

	// Signalling: the listed origin joins; another line's origin gets the
	// socket but not the join; an unlisted one not even the socket.
	url := "ws" + strings.TrimPrefix(srv.URL(), "http") + "/ws"
	dial := func(origin string) (*websocket.Conn, []byte, *http.Response, error) {
		c, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if err != nil {
			return nil, nil, res, err
		}
		c.SetReadLimit(protocol.MaxMessageBytes)
		t.Cleanup(func() { c.CloseNow() })
		ch, ok := readMsg(t, ctx, c).(*protocol.Challenge)
		if !ok {
			t.Fatalf("first message from %s is not a challenge", origin)
		}
		nonce, err := trust.DecodeB64(ch.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		issuedBy(nonce, srv.URL())
		return c, nonce, res, nil
	}
	c, nonce, _, err := dial(mine)
	if err != nil {
		t.Fatalf("WebSocket from the listed origin: %v", err)
	}
	write(t, ctx, c, joinJSON(t, dev, nonce, "local", nil))
	if m, ok := readMsg(t, ctx, c).(*protocol.Welcome); !ok {
		t.Fatalf("join from the listed origin: %+v, want welcome", m)
	}
	c, nonce, _, err = dial(other)
	if err != nil {
		t.Fatalf("WebSocket from another line's origin: %v", err)
	}
	write(t, ctx, c, joinJSON(t, demoDevice(t, srv, "Other Page"), nonce, "local", nil))
	expectError(t, ctx, c, protocol.CodeUnauthorized)
	if _, _, res, err := dial(unknown); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("WebSocket from an unlisted origin: %v, want 403", err)
	}
}
