package browser

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"hotline/internal/tier"
	"hotline/internal/web"
)

// uploads records every request with a body that reached the site, so
// that a test can show that something (an authority key) never left the
// browser.
type uploads struct {
	mu     sync.Mutex
	bodies []string // "METHOD path: body"
}

func (u *uploads) contains(s string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, b := range u.bodies {
		if strings.Contains(b, s) {
			return true
		}
	}
	return false
}

func (u *uploads) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.bodies)
}

// e2eeSite serves, on one loopback origin: the embedded web client under
// /static/, its pages (/, /call/<x>, /enrol, /officer: the index page), the
// harness modules under /harness/, and whatever the test adds to api (the
// fake /api/ routes of the enrolment views). Every request body is
// recorded in the returned uploads.
func e2eeSite(t *testing.T) (url string, api *http.ServeMux, seen *uploads) {
	t.Helper()
	tier.Browser(t)
	// The client exactly as the binary embeds it, served as `hotline open`
	// serves it (local client mode), naming this same origin as its line
	// server: the officer page opens an authority file only there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	self, err := web.ServerOrigin("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	static := web.Local(self)
	mux := http.NewServeMux()
	mux.Handle("/static/", static)
	// The index page under the enrolment paths, whatever the real handler
	// routes: the page reads location.pathname itself.
	index := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/"
		static.ServeHTTP(w, r2)
	})
	mux.Handle("GET /enrol", index)
	mux.Handle("GET /officer", index)
	mux.Handle("GET /{$}", index)
	mux.Handle("GET /call/", static)
	mux.Handle("/harness/", http.StripPrefix("/harness/", http.FileServer(http.Dir("harness"))))
	api = http.NewServeMux()
	mux.Handle("/api/", api)
	seen = &uploads{}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			seen.mu.Lock()
			seen.bodies = append(seen.bodies, r.Method+" "+r.URL.Path+": "+string(body))
			seen.mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	}))
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL, api, seen
}

// e2eeHarness is a browser on the harness page of a fresh e2eeSite, ready
// for runJSModule.
func e2eeHarness(t *testing.T) (*browser, string) {
	t.Helper()
	url, _, _ := e2eeSite(t)
	b := newBrowser(t, "e2ee", 800, 600)
	b.navigate(url + "/harness/index.html")
	return b, url
}
