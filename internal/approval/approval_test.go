package approval

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestRefusedBeforeTheQueue: a stranger's Host name (DNS rebinding) gets
// nothing, and a POST without the page's origin and token is refused
// before the queue is touched (it is nil here: touching it would panic).
func TestRefusedBeforeTheQueue(t *testing.T) {
	h := New(Config{})
	do := func(method, host, path, origin string, form url.Values) int {
		req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Host = host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "script") || !strings.HasPrefix(csp, "default-src 'none'") {
			t.Errorf("%s %s: policy %q", method, path, csp)
		}
		return rec.Code
	}
	if c := do("GET", "attacker.example:8791", "/", "", nil); c != http.StatusMisdirectedRequest {
		t.Errorf("GET from a stranger's name: %d, want 421", c)
	}
	for _, c := range []struct {
		origin string
		form   url.Values
	}{
		{"http://attacker.example", url.Values{"token": {h.token}, "id": {"r1"}}},
		{"http://127.0.0.1:8791", url.Values{"token": {"nope"}, "id": {"r1"}}},
		{"", url.Values{"token": {h.token}, "id": {"r1"}}},
	} {
		for _, p := range []string{"/approve", "/reject"} {
			if code := do("POST", "127.0.0.1:8791", p, c.origin, c.form); code != http.StatusForbidden {
				t.Errorf("POST %s from %q: %d, want 403", p, c.origin, code)
			}
		}
	}
	if c := do("GET", "localhost:8791", "/approval.css", "", nil); c != http.StatusOK {
		t.Errorf("style sheet: %d", c)
	}
	if c := do("GET", "127.0.0.1:8791", "/static/app.js", "", nil); c != http.StatusNotFound {
		t.Errorf("another path: %d, want 404", c)
	}
}
