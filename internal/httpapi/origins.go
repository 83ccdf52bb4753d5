package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"hotline/internal/peer"
	"hotline/internal/protocol"
)

// Local client mode (docs/ARCHITECTURE.md, "Local client mode"): a
// participant runs `hotline open`, which serves the web client from their
// own binary on a loopback origin such as http://127.0.0.1:8790, and that
// page talks to this server across origins. The server accepts such an
// origin only where an operator listed it for a line (LocalOrigins), and
// then only for that line: a WebSocket from it may join only that line's
// calls, a sign-in from it may open a session only on that line, and a
// session opened from it is good only from it. Every other cross-origin
// request to /api/ or /ws is refused, as before.

// LocalOrigins is the per-line allow-list: line name → origins of local
// client pages (each as ParseLocalOrigin returns it).
type LocalOrigins map[string][]string

// ErrOrigin: a string is not a local client origin.
var ErrOrigin = errors.New("not a local client origin")

// maxOriginBytes bounds an Origin header we look at (a real one is tiny).
const maxOriginBytes = 128

// ParseLocalOrigin checks that s is the origin of a local client page:
// http, a loopback host (127.0.0.1, ::1 or localhost) and an explicit port,
// nothing else (no path, query, user). It returns the canonical form, the
// one a browser sends in Origin ("http://127.0.0.1:8790", "http://[::1]:8790").
// Only a loopback origin is accepted: a page there comes from software on
// the participant's own machine, never from a server.
func ParseLocalOrigin(s string) (string, error) {
	if len(s) > maxOriginBytes {
		return "", fmt.Errorf("%w: over %d bytes", ErrOrigin, maxOriginBytes)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrOrigin, s, err)
	}
	if u.Scheme != "http" || u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("%w: %q: want http://127.0.0.1:PORT (or localhost, [::1])", ErrOrigin, s)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return "", fmt.Errorf("%w: %q: give the port", ErrOrigin, s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return "", fmt.Errorf("%w: %q: port %q", ErrOrigin, s, port)
	}
	host = strings.ToLower(host)
	switch host {
	case "127.0.0.1", "localhost":
	case "::1":
		host = "[::1]"
	default:
		return "", fmt.Errorf("%w: %q: the host must be 127.0.0.1, localhost or [::1]", ErrOrigin, s)
	}
	return "http://" + host + ":" + port, nil
}

// Check validates every line name and origin of o.
func (o LocalOrigins) Check() error {
	for line, origins := range o {
		if err := protocol.ValidID("line name", line); err != nil {
			return err
		}
		for _, s := range origins {
			if c, err := ParseLocalOrigin(s); err != nil {
				return err
			} else if c != s {
				return fmt.Errorf("%w: %q: write it as %q", ErrOrigin, s, c)
			}
		}
	}
	return nil
}

// listed reports whether origin is listed for any line.
func (o LocalOrigins) listed(origin string) bool {
	for _, origins := range o {
		if slices.Contains(origins, origin) {
			return true
		}
	}
	return false
}

// allows reports whether a request from origin may act on line: a
// same-origin request ("") always may; a local client page only on a line
// that lists it.
func (o LocalOrigins) allows(line, origin string) bool {
	return origin == "" || slices.Contains(o[line], origin)
}

type originKey struct{}

// crossOriginOf is the listed local origin a request came from, or "" for
// a same-origin request or one without Origin (native clients).
func crossOriginOf(r *http.Request) string {
	s, _ := r.Context().Value(originKey{}).(string)
	return s
}

// crossOrigin lets listed local client origins use /api/ (CORS, without
// credentials: the API authenticates with bearer tokens, never cookies)
// and /ws (the WebSocket's own origin check then passes them to
// originGate), and refuses every other cross-origin request to /api/ and
// /calls/.
func (a *API) crossOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || sameOrigin(r, origin) {
			next.ServeHTTP(w, r)
			return
		}
		// The API and the calendar files (/calls/{id}.ics, behind the
		// same bearer tokens) are refused to an unlisted origin.
		api := strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/calls/")
		w.Header().Add("Vary", "Origin")
		if len(origin) > maxOriginBytes || !a.cfg.LocalOrigins.listed(origin) {
			if api {
				writeError(w, http.StatusForbidden, "origin "+truncate(origin)+" may not use this server's API "+
					"(an operator lists local client origins per line with --local-origin)")
				return
			}
			next.ServeHTTP(w, r) // /ws: websocket.Accept refuses it; pages: same-origin only anyway
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), originKey{}, origin)))
	})
}

// sameOrigin reports whether origin names the host the request was sent to
// (as websocket.Accept decides it).
func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

func truncate(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q…", s[:64])
	}
	return fmt.Sprintf("%q", s)
}

// refuseOrigin answers 403 and reports true when a request from a local
// client page acts on a line that does not list its origin.
func (a *API) refuseOrigin(w http.ResponseWriter, r *http.Request, line string) bool {
	origin := crossOriginOf(r)
	if a.cfg.LocalOrigins.allows(line, origin) {
		return false
	}
	writeError(w, http.StatusForbidden, "origin "+origin+" is not a local client origin of line "+line)
	return true
}

// errOriginLine: a WebSocket from a local client page joined a line that
// does not list its origin.
var errOriginLine = errors.New("this page's origin is not a local client origin of the line")

// originGate admits a join from a local client page only to a line that
// lists the page's origin; the gate it wraps checks the rest.
type originGate struct {
	peer.Gatekeeper
	origins LocalOrigins
	origin  string
}

func (g originGate) Admit(ctx context.Context, nonce []byte, server string, j *protocol.Join) (peer.Admitted, error) {
	if !g.origins.allows(j.Line, g.origin) {
		return peer.Admitted{}, fmt.Errorf("%w: %s on line %s", errOriginLine, g.origin, j.Line)
	}
	return g.Gatekeeper.Admit(ctx, nonce, server, j)
}
