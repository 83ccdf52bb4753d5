// Package web serves hotline's browser client: one HTML page, plain
// JavaScript modules and a style sheet, embedded in the binary. There is no
// build step, so what is in static/ is exactly what the browser runs.
//
// Routes:
//
//	GET /                the start page (name, call, camera preview, Join)
//	GET /call/<call>     the same app opened on <call>; ?name=…&autojoin=1 joins at once
//	GET /enrol, /officer enrolment of this browser, approval by a side's officer
//	GET /schedule        the line's calls in both sides' zones (request, answer, history)
//	GET /static/<file>   the assets
//
// Everything else is 404. Every response carries SecurityHeaders.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"hotline/internal/protocol"
)

//go:embed static
var embedded embed.FS

// contentSecurityPolicy allows only this origin's scripts, styles and
// sockets: no inline code, no eval, no framing. media-src blob: is for
// MediaStreams shown through object URLs; img-src data: for tiny inline icons.
const contentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob:; style-src 'self'; script-src 'self'; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// hsts: two years, the value hstspreload.org asks for; no includeSubDomains,
// since a line's server does not speak for its domain's other hosts.
const hsts = "max-age=63072000"

// SecurityHeaders sets the headers every hotline response carries, whatever
// route produced it. Wrap the whole mux with it, not just the web client.
func SecurityHeaders(h http.Handler) http.Handler {
	return securityHeaders(contentSecurityPolicy, h)
}

func securityHeaders(csp string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		// The page needs the camera and microphone of this origin only.
		hd.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()")
		if r.TLS != nil {
			// RFC 6797: only over TLS (a browser ignores it over HTTP, and a
			// loopback demo on HTTP must stay reachable). Behind a proxy
			// that terminates TLS, the proxy sets it.
			hd.Set("Strict-Transport-Security", hsts)
		}
		h.ServeHTTP(w, r)
	})
}

// contentTypes lists every extension we ship. A file with another extension
// is not served: an explicit table keeps the answer independent of the
// host's /etc/mime.types, which nosniff would make fatal if it were wrong.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// asset is one embedded file, read once at start-up.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

type handler struct {
	assets map[string]*asset // keyed by the path below static/
	index  *asset
}

// Handler returns the web client's handler, wrapped in SecurityHeaders.
func Handler() http.Handler {
	return SecurityHeaders(newHandler())
}

// newHandler reads the embedded assets.
func newHandler() *handler {
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	h := &handler{assets: make(map[string]*asset)}
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		h.assets[name] = newAsset(body, ct)
		return nil
	})
	if err != nil {
		panic(err)
	}
	if bypassBuild {
		h.assets[buildJS] = newAsset([]byte(bypassBuildJS), contentTypes[".js"])
	}
	h.index = h.assets["index.html"]
	if h.index == nil {
		panic("web: static/index.html is missing")
	}
	return h
}

func newAsset(body []byte, ct string) *asset {
	sum := sha256.Sum256(body)
	return &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// buildJS is the asset that tells the web client what this build allows;
// bypassBuildJS replaces it in a binary built with -tags e2eebypass.
const (
	buildJS       = "e2ee/build.js"
	bypassBuildJS = "// Built with -tags e2eebypass: for measurement only (docs/PERFORMANCE.md).\nexport const BYPASS_BUILD = true;\n"
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// r.URL.Path is already percent-decoded, so "%2e%2e" and "%2f" arrive
	// here as ".." and "/" and meet the same checks as their plain forms.
	p := r.URL.Path
	switch {
	case p == "/", p == "/enrol", p == "/officer", p == "/schedule":
		h.page(w, r)
	case strings.HasPrefix(p, "/call/"):
		// One path segment that is a valid call name; anything else
		// (sub-paths, dot segments, odd bytes) is not a page of ours.
		call := strings.TrimPrefix(p, "/call/")
		if protocol.ValidID("call name", call) != nil || call == "." || call == ".." {
			http.NotFound(w, r)
			return
		}
		h.page(w, r)
	case strings.HasPrefix(p, "/static/"):
		h.static(w, r, strings.TrimPrefix(p, "/static/"))
	default:
		http.NotFound(w, r)
	}
}

// page serves the single HTML page. no-store: it is the entry point, and a
// stale copy could reference assets that a new binary no longer has.
func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.serve(w, r, "index.html", h.index)
}

// static serves one asset. Only names that fs.ValidPath accepts (no "..",
// no ".", no empty or absolute elements) and that name an embedded regular
// file are served, so traversal and directory listings cannot happen.
func (h *handler) static(w http.ResponseWriter, r *http.Request, name string) {
	if !fs.ValidPath(name) || strings.ContainsAny(name, `\`+"\x00") {
		http.NotFound(w, r)
		return
	}
	a := h.assets[name]
	if a == nil || name == "index.html" {
		http.NotFound(w, r)
		return
	}
	// no-cache: revalidate with the ETag each time, so a new binary's assets
	// are picked up at once while unchanged ones cost a 304.
	w.Header().Set("Cache-Control", "no-cache")
	h.serve(w, r, name, a)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, name string, a *asset) {
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
