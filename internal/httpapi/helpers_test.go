package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"hotline/internal/booking"
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
	return &testLine{t: t, srv: servertest.Start(t, server.Config{}, nil)}
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

func (l *testLine) session(dev *trust.Device) string {
	l.t.Helper()
	nonce := l.nonce()
	res := l.do("POST", "/api/session", "", map[string]any{
		"line": demo.Line, "credential": dev.Credential, "nonce": trust.B64(nonce), "proof": trust.B64(dev.SessionProof(nonce, demo.Line)),
	})
	var s struct {
		Token string `json:"token"`
	}
	res.decode(l.t, http.StatusOK, &s)
	return s.Token
}

func (l *testLine) nonce() []byte {
	l.t.Helper()
	var c struct {
		Nonce   string `json:"nonce"`
		Expires int64  `json:"expires"`
	}
	l.do("POST", "/api/session/challenge", "", nil).decode(l.t, http.StatusOK, &c)
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

func (l *testLine) call(token, id string) booking.CallJSON {
	l.t.Helper()
	var c booking.CallJSON
	l.do("GET", "/api/calls/"+id, token, nil).decode(l.t, http.StatusOK, &c)
	return c
}

func (l *testLine) list(token string) []booking.CallJSON {
	l.t.Helper()
	var out booking.ListJSON
	l.do("GET", "/api/calls", token, nil).decode(l.t, http.StatusOK, &out)
	return out.Calls
}

func (l *testLine) request(token string, body map[string]any) booking.CallJSON {
	l.t.Helper()
	var c booking.CallJSON
	l.do("POST", "/api/calls", token, body).decode(l.t, http.StatusCreated, &c)
	return c
}

func (l *testLine) act(token, id, event string, body any) booking.CallJSON {
	l.t.Helper()
	var c booking.CallJSON
	l.do("POST", "/api/calls/"+id+"/"+event, token, body).decode(l.t, http.StatusOK, &c)
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
