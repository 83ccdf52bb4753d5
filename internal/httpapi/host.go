package httpapi

import (
	"hotline/internal/trust"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hostAllowed reports whether a request's Host header names this server:
// an IP address (DNS rebinding needs a name the attacker controls; an
// address literal is not one), or one of names, where "*.example.org"
// matches one label in front of example.org as a certificate's does. An
// empty names checks nothing.
func hostAllowed(host string, names []string) bool {
	if len(names) == 0 {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	for _, n := range names {
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if label, parent, ok := strings.Cut(host, "."); ok && label != "" && parent == rest {
				return true
			}
		}
	}
	return false
}

// checkHost answers 421 to a request whose Host is not one of the server's
// names (docs/THREAT_MODEL.md, "DNS rebinding"): a page at an attacker's
// name that resolves to this server must get nothing from it, not even the
// WebSocket, whose origin check alone would pass (the origin and the host
// are then the same attacker's name).
func checkHost(names []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, names) {
			writeError(w, http.StatusMisdirectedRequest, "this server does not answer to the host name "+r.Host+
				" (its operator lists the names with --host)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serverName is the name the request reached this server by, in
// trust.ServerName form, which a join proof on this connection must sign
// (docs/PROTOCOL.md, "Join"), or "" when it is not the server's own. A DNS
// name has passed checkHost; an address must be loopback, the one the
// connection arrived at, or the configured public address: any address
// would let a server that relays another's challenge, reached by its own
// address, pass the proof on with that address.
func (a *API) serverName(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		ip = ip.Unmap()
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		ok := ip.IsLoopback() || a.cfg.PublicIP != "" && a.cfg.PublicIP == ip.String()
		if tcp, isTCP := local.(*net.TCPAddr); isTCP {
			if la, valid := netip.AddrFromSlice(tcp.IP); valid && la.Unmap() == ip {
				ok = true
			}
		}
		if !ok {
			return ""
		}
	}
	return trust.ServerName(r.Host, r.TLS != nil)
}
