package web

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLocalHandler: local client mode serves the same client, naming the
// line server in the page and in its policy, and nothing to a stranger's
// Host name.
func TestLocalHandler(t *testing.T) {
	srv, err := ServerOrigin("https://line.example:8443/")
	if err != nil {
		t.Fatal(err)
	}
	h := Local(srv)
	get := func(host, path string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	res := get("127.0.0.1:8790", "/call/demo")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `<meta name="hotline-server" content="https://line.example:8443">`) {
		t.Fatalf("page: %d, meta missing:\n%.600s", res.StatusCode, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self' https://line.example:8443 wss://line.example:8443;") || !strings.Contains(csp, "script-src 'self';") {
		t.Fatalf("policy %q", csp)
	}
	for _, p := range []string{"/static/endpoint.js", "/enrol", "/schedule"} {
		if res := get("localhost:8790", p); res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	for _, host := range []string{"attacker.example:8790", "10.0.0.1:8790"} {
		if res := get(host, "/"); res.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: %d, want 421", host, res.StatusCode)
		}
	}
	// The server's own page is unchanged: its meta is empty.
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(rec.Body.String(), serverMeta) || rec.Header().Get("Content-Security-Policy") != contentSecurityPolicy {
		t.Fatal("the server-served page changed")
	}
}

func TestServerOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://line.example":   "https://line.example",
		"https://10.0.0.1:8443/": "https://10.0.0.1:8443",
		"http://127.0.0.1:8080":  "http://127.0.0.1:8080",
		"http://[::1]:8080":      "http://[::1]:8080",
	} {
		u, err := ServerOrigin(in)
		if err != nil || u.String() != want {
			t.Errorf("ServerOrigin(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, in := range []string{"", "line.example", "http://line.example", "http://10.0.0.1:8080", "ftp://x", "https://x/path", "https://u@x", "https://x?q"} {
		if _, err := ServerOrigin(in); !errors.Is(err, ErrServerURL) {
			t.Errorf("ServerOrigin(%q): %v, want ErrServerURL", in, err)
		}
	}
}
