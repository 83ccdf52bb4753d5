package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Local client mode (docs/ARCHITECTURE.md, "Local client mode"): `hotline
// open` serves this same client from the participant's own binary on a
// loopback address, so the code that holds the device's and the call's
// keys never comes from the line server, which a hostile operator could
// change. The page learns the remote server from a meta tag in index.html
// (endpoint.js) and talks to it across origins; the server accepts that
// only for lines that list the page's origin (httpapi.LocalOrigins).

// serverMeta is the tag in index.html that names the line server; empty
// when the server itself served the page.
const serverMeta = `<meta name="hotline-server" content="">`

// ErrServerURL: the remote server's address is not one a page may use.
var ErrServerURL = errors.New("web: the server must be https://HOST[:PORT] (http only on loopback)")

// ServerOrigin checks a line server's URL for local client mode and returns
// its origin (scheme://host[:port], no path). Plain http is refused except
// on a loopback address, as the server itself refuses it elsewhere.
func ServerOrigin(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%w: %q", ErrServerURL, s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err != nil || !a.IsLoopback() {
			return nil, fmt.Errorf("%w: %q", ErrServerURL, s)
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrServerURL, s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// Local returns the handler of local client mode: the embedded client,
// whose pages name server (from ServerOrigin) as their line server, under
// a policy that lets them connect to this origin and that server only. It
// answers only to loopback Host names, so a DNS-rebinding page at a
// stranger's name cannot read it.
func Local(server *url.URL) http.Handler {
	h := newHandler()
	body := bytes.Replace(h.index.body, []byte(serverMeta),
		[]byte(`<meta name="hotline-server" content="`+html.EscapeString(server.String())+`">`), 1)
	if bytes.Equal(body, h.index.body) {
		panic("web: index.html lacks " + serverMeta)
	}
	sum := sha256.Sum256(body)
	h.index = &asset{body: body, contentType: h.index.contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	ws := "wss://"
	if server.Scheme == "http" {
		ws = "ws://"
	}
	csp := strings.Replace(contentSecurityPolicy, "connect-src 'self'",
		"connect-src 'self' "+server.String()+" "+ws+server.Host, 1)
	inner := securityHeaders(csp, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		a, err := netip.ParseAddr(strings.Trim(host, "[]"))
		if !strings.EqualFold(host, "localhost") && (err != nil || !a.IsLoopback()) {
			http.Error(w, "local client mode answers to loopback names only", http.StatusMisdirectedRequest)
			return
		}
		inner.ServeHTTP(w, r)
	})
}
