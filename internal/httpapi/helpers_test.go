package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// testLine is a real server on 127.0.0.1 with the demo line provisioned
// (east in Moscow, west in New York).
type testLine struct {
	t   *testing.T
	srv *servertest.Server
}

func startLine(t *testing.T) *testLine {
	t.Helper()
	return startLineWith(t, server.Config{})
}

// startLineWith starts the line's server with cfg.
func startLineWith(t *testing.T, cfg server.Config) *testLine {
	t.Helper()
	return &testLine{t: t, srv: servertest.Start(t, cfg, nil)}
}

// name is the server name a proof to this server signs (trust.ServerName
// of its URL's host and port).
func (l *testLine) name() string {
	return trust.ServerName(strings.TrimPrefix(l.srv.URL(), "http://"), false)
}

func (l *testLine) device(side, name string, r role.Role) *trust.Device {
	l.t.Helper()
	return l.srv.Device(l.t, side, name, r)
}

// login enrols a device and opens an API session with it; it returns the
// bearer token.
func (l *testLine) login(side, name string, r role.Role) string {
	l.t.Helper()
	return l.session(l.device(side, name, r))
}

// session signs in with dev through the API client and returns the token.
func (l *testLine) session(dev *trust.Device) string {
	l.t.Helper()
	cl := l.client("")
	if err := cl.SignIn(context.Background(), dev, demo.Line); err != nil {
		l.t.Fatal(err)
	}
	if s := cl.Session; s.Line != demo.Line || s.Device != dev.ID() || s.Token == "" {
		l.t.Fatalf("session %+v", s)
	}
	return cl.Token()
}

// client is an API client of the server with token ("": none).
func (l *testLine) client(token string) *apiclient.Client {
	l.t.Helper()
	cl, err := apiclient.New(l.srv.URL(), nil)
	if err != nil {
		l.t.Fatal(err)
	}
	return cl.WithToken(token)
}

func (l *testLine) nonce() []byte {
	l.t.Helper()
	c, err := l.client("").Challenge(context.Background())
	if err != nil {
		l.t.Fatal(err)
	}
	n, err := trust.DecodeB64(c.Nonce)
	if err != nil || len(n) != trust.NonceSize || c.Expires == 0 {
		l.t.Fatalf("challenge %+v: %v", c, err)
	}
	return n
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. body is nil (no body), a string (sent as it is, as
// JSON) or anything else (marshalled to JSON).
func (l *testLine) do(method, path, token string, body any) reply {
	l.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			l.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, l.srv.URL()+path, rd)
	if err != nil {
		l.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		l.t.Fatal(err)
	}
	return reply{status: res.StatusCode, header: res.Header, body: data}
}

// decode checks the status and decodes the body into v.
func (r reply) decode(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
}

// refused checks a refusal: the status and a JSON error naming want.
func (r reply) refused(t *testing.T, what string, status int, want string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if r.status != status || json.Unmarshal(r.body, &e) != nil || !bytes.Contains([]byte(e.Error), []byte(want)) {
		t.Errorf("%s: %d %s, want %d with an error mentioning %q", what, r.status, r.body, status, want)
	}
}

func (l *testLine) call(token, id string) api.Call {
	l.t.Helper()
	c, err := l.client(token).Call(context.Background(), id)
	if err != nil {
		l.t.Fatal(err)
	}
	return c
}

func (l *testLine) list(token string) []api.Call {
	l.t.Helper()
	out, err := l.client(token).Calls(context.Background(), "")
	if err != nil {
		l.t.Fatal(err)
	}
	return out.Calls
}

// request posts a body as it is (the client's own check is not wanted
// here: the tests vary bodies the server must judge).
func (l *testLine) request(token string, body map[string]any) api.Call {
	l.t.Helper()
	var c api.Call
	if _, err := l.client(token).Do(context.Background(), "POST", "/api/calls", body, &c); err != nil {
		l.t.Fatal(err)
	}
	return c
}

func (l *testLine) act(token, id, event string, body any) api.Call {
	l.t.Helper()
	var c api.Call
	if _, err := l.client(token).Do(context.Background(), "POST", "/api/calls/"+id+"/"+event, body, &c); err != nil {
		l.t.Fatal(err)
	}
	return c
}

// callBody is a valid request body: a video call at 18:00 Moscow time.
func callBody() map[string]any {
	return map[string]any{
		"line": demo.Line, "kind": "video", "when": "at 18:00 Europe/Moscow", "duration_minutes": 120,
		"agenda":       []string{"Opening; remarks, by both principals", "Grain corridor"},
		"participants": []map[string]any{{"name": "East Principal", "roles": []string{"principal"}}, {"name": "East Adviser", "roles": []string{"adviser"}}},
	}
}
