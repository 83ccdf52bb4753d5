package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// get runs one request through the handler itself, with the path exactly as
// given: no client or ServeMux cleans it first, so traversal attempts reach
// our code unchanged.
func get(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, "http://hotline.test/", nil)
	// ParseRequestURI, unlike Parse, does not resolve dot segments: the
	// handler sees "/static/../web.go" as a client may send it.
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatalf("parse %q: %v", target, err)
	}
	req.URL = u
	req.RequestURI = target
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := Handler()
	for _, target := range []string{"/", "/call/x", "/static/app.js", "/static/style.css", "/nope", "/static/missing.js", "/static/../web.go"} {
		r := get(t, h, http.MethodGet, target)
		if got := r.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s: HSTS %q over plain HTTP", target, got)
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP allows unsafe sources: %q", target, csp)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", target, got)
		}
		if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy = %q", target, got)
		}
	}
}

// Over TLS every response also carries HSTS (RFC 6797 §7.2: only there).
func TestSecurityHeadersHSTSUnderTLS(t *testing.T) {
	h := Handler()
	for _, target := range []string{"/", "/static/app.js", "/nope"} {
		req := httptest.NewRequest(http.MethodGet, "https://hotline.test"+target, nil)
		if req.TLS == nil {
			t.Fatal("httptest did not mark an https request as TLS")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Result().Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") || got == "max-age=0" {
			t.Errorf("%s: HSTS %q", target, got)
		}
	}
}

func TestSecurityHeadersWrapsAnyHandler(t *testing.T) {
	h := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	r := get(t, h, http.MethodGet, "/ws")
	if r.StatusCode != http.StatusTeapot || r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("status %d, headers %v", r.StatusCode, r.Header)
	}
}

func TestPages(t *testing.T) {
	h := Handler()
	for _, target := range []string{"/", "/call/x", "/call/line-1.A_b", "/call/x?name=a&autojoin=1", "/enrol", "/officer", "/schedule"} {
		r := get(t, h, http.MethodGet, target)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", target, r.StatusCode)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", target, ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", target, cc)
		}
		b := body(t, r)
		if !strings.Contains(b, `<script type="module" src="/static/app.js">`) {
			t.Errorf("%s: the page does not load the app", target)
		}
	}
}

// The page must not need 'unsafe-inline': no inline script, handler or style.
func TestPageHasNoInlineCode(t *testing.T) {
	b := body(t, get(t, Handler(), http.MethodGet, "/"))
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", "javascript:"} {
		if strings.Contains(b, bad) {
			t.Errorf("index.html contains %q, which the CSP forbids", bad)
		}
	}
}

func TestStaticContentTypes(t *testing.T) {
	h := Handler()
	for target, want := range map[string]string{
		"/static/app.js":      "text/javascript; charset=utf-8",
		"/static/protocol.js": "text/javascript; charset=utf-8",
		"/static/style.css":   "text/css; charset=utf-8",
		"/static/icon.svg":    "image/svg+xml",
	} {
		r := get(t, h, http.MethodGet, target)
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", target, r.StatusCode)
			continue
		}
		if ct := r.Header.Get("Content-Type"); ct != want {
			t.Errorf("%s: Content-Type %q, want %q", target, ct, want)
		}
		if r.Header.Get("ETag") == "" {
			t.Errorf("%s: no ETag", target)
		}
	}
}

func TestStaticRevalidates(t *testing.T) {
	h := Handler()
	r := get(t, h, http.MethodGet, "/static/app.js")
	req := httptest.NewRequest(http.MethodGet, "/static/app.js", nil)
	req.Header.Set("If-None-Match", r.Header.Get("ETag"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("conditional GET: status %d, want 304", rec.Code)
	}
}

func TestNotFoundAndTraversal(t *testing.T) {
	h := Handler()
	for _, target := range []string{
		"/static/../web.go",
		"/static/..%2fweb.go",
		"/static/%2e%2e/web.go",
		"/static/%2e%2e%2fweb.go",
		"/static/..%5cweb.go",
		"/static/./app.js",
		"/static//app.js",
		"/static/",
		"/static",
		"/static/index.html", // the page lives at / only
		"/web.go",
		"/call/",
		"/schedule/",
		"/schedule/x",
		"/schedules",
		"/call/x/y",
		"/call/..",
		"/call/%2e%2e%2fweb.go",
		"/call/a%20b",
		"/favicon.ico",
		"/static/app.js%00",
	} {
		r := get(t, h, http.MethodGet, target)
		b := body(t, r)
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, r.StatusCode)
		}
		if strings.Contains(b, "package web") || strings.Contains(b, "<html") || strings.Contains(b, "import ") {
			t.Errorf("%s: served file content", target)
		}
	}
}

// Through a real server (whose mux-less handler sees what a client sends),
// the same attempts fail too.
func TestTraversalOverHTTP(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, p := range []string{"/static/../web.go", "/static/%2e%2e/web.go", "/static/..%2fweb.go", "/static/..%5cweb.go"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = p // send the path verbatim, uncleaned
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := body(t, r)
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound || strings.Contains(b, "package web") {
			t.Errorf("%s: status %d, body %.40q", p, r.StatusCode, b)
		}
	}
}

func TestMethods(t *testing.T) {
	h := Handler()
	if r := get(t, h, http.MethodHead, "/static/app.js"); r.StatusCode != http.StatusOK {
		t.Errorf("HEAD: status %d", r.StatusCode)
	}
	r := get(t, h, http.MethodPost, "/")
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") == "" {
		t.Errorf("POST: status %d, Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
}

// Every module the page imports must be served, with no directory listing
// in the way.
func TestAllModulesServed(t *testing.T) {
	h := Handler()
	for _, name := range []string{"app.js", "call.js", "lobby.js", "tiles.js", "media.js", "dom.js", "quality.js", "protocol.js", "schedule.js", "api.js"} {
		r := get(t, h, http.MethodGet, "/static/"+name)
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", name, r.StatusCode)
		}
		b := body(t, r)
		for _, line := range strings.Split(b, "\n") {
			if strings.HasPrefix(line, "import ") && strings.Contains(line, "from './") {
				mod := line[strings.Index(line, "'./")+3 : strings.LastIndex(line, "'")]
				if rr := get(t, h, http.MethodGet, "/static/"+mod); rr.StatusCode != http.StatusOK {
					t.Errorf("%s imports %s, which is not served (status %d)", name, mod, rr.StatusCode)
				}
			}
		}
	}
}
