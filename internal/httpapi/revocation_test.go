package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// TestRevocationRoute (PROTOCOL.md, "Revocation"): POST
// /api/lines/{name}/revocations stores a list only if its side's pinned
// authority signed it for this line with a newer serial; every refusal
// has its status and changes nothing, and an accepted list closes the
// revoked device's API session at once.
func TestRevocationRoute(t *testing.T) {
	l := startLine(t)
	dev := l.device(demo.East, "East Lost", role.Principal)
	token := l.session(dev)
	east := l.srv.Demo.Authority(demo.East)
	stranger, err := trust.NewAuthority(demo.East)
	if err != nil {
		t.Fatal(err)
	}
	post := func(line, contentType string, body []byte) int {
		t.Helper()
		resp, err := http.Post(l.srv.URL()+"/api/lines/"+line+"/revocations", contentType, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	list := func(a *trust.Authority, line string, serial int64, devs ...string) []byte {
		t.Helper()
		r, err := a.Revoke(line, serial, time.Now(), devs)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(api.RevocationBody{Revocation: r})
		return b
	}
	for _, c := range []struct {
		name, line, ct string
		body           []byte
		want           int
	}{
		{"not JSON", demo.Line, "text/plain", list(east, demo.Line, 2, dev.ID()), http.StatusUnsupportedMediaType},
		{"no list", demo.Line, "application/json", []byte(`{}`), http.StatusBadRequest},
		{"an unknown field", demo.Line, "application/json", []byte(`{"revocation":{"body":"e30","sig":"AA"},"x":1}`), http.StatusBadRequest},
		{"a malformed list", demo.Line, "application/json", []byte(`{"revocation":{"body":"e30","sig":"AA"}}`), http.StatusBadRequest},
		{"a list for another line", demo.Line, "application/json", list(east, "other", 2, dev.ID()), http.StatusBadRequest},
		{"an unknown line", "nowhere", "application/json", list(east, "nowhere", 2, dev.ID()), http.StatusNotFound},
		{"a stranger's list", demo.Line, "application/json", list(stranger, demo.Line, 2, dev.ID()), http.StatusForbidden},
	} {
		if got := post(c.line, c.ct, c.body); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if _, err := l.client(token).Do(t.Context(), "GET", "/api/session", nil, nil); err != nil {
		t.Fatalf("the refusals revoked the session: %v", err)
	}
	if got := post(demo.Line, "application/json", list(east, demo.Line, 2, dev.ID())); got != http.StatusOK {
		t.Fatalf("the list: %d", got)
	}
	if got := post(demo.Line, "application/json", list(east, demo.Line, 2, dev.ID())); got != http.StatusOK {
		t.Errorf("a repeat of the list: %d, want 200", got)
	}
	if got := post(demo.Line, "application/json", list(east, demo.Line, 1)); got != http.StatusConflict {
		t.Errorf("an older list: %d, want 409", got)
	}
	if _, err := l.client(token).Do(t.Context(), "GET", "/api/session", nil, nil); err == nil {
		t.Fatal("the revoked device's session still works")
	}
}
