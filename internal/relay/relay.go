// Package relay is hotline's embedded TURN server (RFC 8656), for clients
// whose network drops UDP: they reach it over TCP or TLS and it relays their
// media, as UDP, to one destination only, the server's own media socket. It
// is never an open relay: a permission or a channel to any other peer is
// refused, and a relayed packet for any other address is dropped.
//
// Credentials follow the TURN REST API scheme
// (draft-uberti-behave-turn-rest-00 §2.2): the username is
// "<expiry unix time>:<token>" and the password is
// base64(HMAC-SHA1(secret, username)), with a random secret that lives in
// this process only. One credential is issued per signalling session and
// revoked when the session ends.
package relay

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" // the TURN REST API's HMAC; RFC 8489 §9.2.2's long-term key is MD5 in Pion
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// Realm is the TURN realm (RFC 8489 §14.9) of every hotline server.
const Realm = "hotline"

// DefaultTTL bounds a credential's life: a new allocation is refused once
// it has passed, even while its session lasts. A session's existing
// allocations live as long as the session: the longest talks run for hours.
const DefaultTTL = 12 * time.Hour

// maxAllocations bounds the allocations one credential may hold at once (a
// browser makes one per TURN URL and address family).
const maxAllocations = 8

// Errors of the relay.
var (
	ErrConfig   = errors.New("relay: invalid configuration")
	ErrNotMedia = errors.New("relay: only the server's media address may be relayed to")
	ErrQuota    = errors.New("relay: too many allocations for one credential")
	ErrTCPRelay = errors.New("relay: TCP allocations are not offered")
	ErrRevoked  = errors.New("relay: the credential's session has ended")
)

// Config says where the relay listens and the one peer it relays to.
type Config struct {
	// Media is the server's media UDP socket, with a concrete IP: the only
	// peer. Relay sockets bind Media's IP.
	Media *net.UDPAddr
	// Announced are further IPs at which clients know the media port (a NAT
	// 1:1 public address, the interfaces of a server listening on all):
	// packets a client relays to one of them on Media's port go to Media.
	Announced []net.IP
	// TCP carry TURN over TCP, TLS TURN over TLS (already wrapped in TLS),
	// UDP TURN over UDP. Each is optional, but one is needed. The relay
	// closes them.
	TCP []net.Listener
	TLS []net.Listener
	UDP net.PacketConn
	TTL time.Duration // default DefaultTTL
	Log *slog.Logger
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
}

// Credentials is what a client needs to use the relay.
type Credentials struct {
	Username string
	Password string
	Expires  time.Time
}

// Relay is a running TURN server.
type Relay struct {
	cfg    Config
	secret []byte
	srv    *turn.Server
	log    *slog.Logger

	mu     sync.Mutex
	live   map[string]bool                    // tokens of live sessions
	allocs map[string]map[*relayConn]struct{} // each token's relay sockets
}

// Start starts the TURN server on cfg's listeners.
func Start(cfg Config) (*Relay, error) {
	if cfg.Media == nil || cfg.Media.IP == nil || cfg.Media.IP.IsUnspecified() || cfg.Media.Port == 0 {
		return nil, fmt.Errorf("%w: the media address needs a concrete IP and port", ErrConfig)
	}
	if len(cfg.TCP) == 0 && len(cfg.TLS) == 0 && cfg.UDP == nil {
		return nil, fmt.Errorf("%w: no listener", ErrConfig)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{cfg: cfg, log: cfg.Log, secret: make([]byte, 32), live: map[string]bool{}, allocs: map[string]map[*relayConn]struct{}{}}
	_, _ = rand.Read(r.secret)

	gen := &generator{r: r}
	perm := r.permitted
	sc := turn.ServerConfig{
		Realm:         Realm,
		AuthHandler:   r.authenticate,
		LoggerFactory: pionLogs{Log: cfg.Log},
	}
	for _, ln := range append(cfg.TCP[:len(cfg.TCP):len(cfg.TCP)], cfg.TLS...) {
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{Listener: ln, RelayAddressGenerator: gen, PermissionHandler: perm})
	}
	if cfg.UDP != nil {
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{PacketConn: cfg.UDP, RelayAddressGenerator: gen, PermissionHandler: perm})
	}
	srv, err := turn.NewServer(sc)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r.srv = srv
	return r, nil
}

// Close stops the TURN server and closes its listeners.
func (r *Relay) Close() error { return r.srv.Close() }

// Issue makes the credentials of one signalling session; they stop working
// when revoke is called (at the session's end), which also silences the
// relay sockets they allocated, or, for new allocations, at Expires.
func (r *Relay) Issue() (c Credentials, revoke func()) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	c.Expires = r.cfg.Now().Add(r.cfg.TTL).Truncate(time.Second)
	c.Username = strconv.FormatInt(c.Expires.Unix(), 10) + ":" + token
	c.Password = r.password(c.Username)
	r.mu.Lock()
	r.live[token] = true
	r.mu.Unlock()
	return c, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.live, token)
		// Silenced, not closed: closing a relay socket makes Pion
		// (turn v5.1.0) close its allocation from another goroutine, which
		// races with a CreatePermission being handled for it
		// (Permission.start vs Allocation.Close, seen by the race
		// detector). The allocation itself ends when its refresh fails
		// (authenticate refuses the ended session), at most its lifetime
		// (10 minutes) later, and Pion closes the socket then.
		for rc := range r.allocs[token] {
			rc.revoked.Store(true)
		}
	}
}

func (r *Relay) password(username string) string {
	mac := hmac.New(sha1.New, r.secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// authenticate is Pion's AuthHandler: it returns the long-term key (RFC
// 8489 §9.2.2) of a username this relay issued, for a live session; Pion
// then checks the request's MESSAGE-INTEGRITY with it, so a forged password
// fails there.
func (r *Relay) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	exp, token, ok := strings.Cut(ra.Username, ":")
	if !ok || len(ra.Username) > 64 {
		return "", nil, false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", nil, false
	}
	if ra.Method == stun.MethodAllocate && !r.cfg.Now().Before(time.Unix(sec, 0)) {
		r.log.Debug("relay: expired credential", "from", ra.SrcAddr)
		return "", nil, false
	}
	r.mu.Lock()
	live := r.live[token]
	r.mu.Unlock()
	if !live {
		r.log.Debug("relay: credential of no live session", "from", ra.SrcAddr)
		return "", nil, false
	}
	return token, turn.GenerateAuthKey(ra.Username, ra.Realm, r.password(ra.Username)), true
}

// isMediaIP: ip is one of the addresses the media socket is known by.
func (r *Relay) isMediaIP(ip net.IP) bool {
	if ip.Equal(r.cfg.Media.IP) {
		return true
	}
	for _, a := range r.cfg.Announced {
		if ip.Equal(a) {
			return true
		}
	}
	return false
}

// permitted is Pion's PermissionHandler for CreatePermission and
// ChannelBind (RFC 8656 §9, §12): only the media socket's IPs. Permissions
// are per IP; the port is enforced on every packet by relayConn.
func (r *Relay) permitted(client net.Addr, peer net.IP) bool {
	ok := r.isMediaIP(peer)
	if !ok {
		r.log.Info("relay: refused a permission to a foreign peer", "client", client, "peer", peer)
	}
	return ok
}
