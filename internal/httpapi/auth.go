package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"hotline/internal/booking"
	"hotline/internal/trust"
)

// Bounds of API authentication (docs/API.md, "Authentication").
const (
	nonceTTL    = 60 * time.Second
	maxNonces   = 1024 // outstanding challenges; beyond, the oldest is forgotten
	sessionTTL  = 12 * time.Hour
	officerTTL  = time.Hour
	maxSessions = 4096 // open sessions; beyond, the one closest to expiry is forgotten
	// maxPerHolder bounds the sessions of one device (or one side's
	// officer); beyond, that holder's oldest is forgotten, so one
	// credential signing in in a loop pushes out only its own sessions.
	maxPerHolder = 8
)

// session is an open API session: who opened it, when, and until when.
type session struct {
	caller  booking.Caller
	officer bool   // a side's officer (enrolment routes only), not a device
	origin  string // the local client origin it was opened from ("": same-origin or native)
	opened  time.Time
	expires time.Time
}

// holder is whom a session counts against for maxPerHolder.
func (s session) holder() string {
	if s.officer {
		return "officer " + s.caller.Line + "/" + s.caller.Side
	}
	return "device " + s.caller.Device
}

// keyring holds the server's API challenges and sessions in memory, both
// bounded: a restart forgets them, and callers sign in again. Tokens are
// kept only as SHA-256 hashes, so a memory dump does not hand out sessions.
type keyring struct {
	mu       sync.Mutex
	now      func() time.Time
	nonces   map[[trust.NonceSize]byte]time.Time // nonce → expiry
	sessions map[[sha256.Size]byte]session       // SHA-256(token) → session
}

func newKeyring() *keyring {
	return &keyring{
		now:      time.Now,
		nonces:   make(map[[trust.NonceSize]byte]time.Time),
		sessions: make(map[[sha256.Size]byte]session),
	}
}

// challenge issues a fresh nonce, valid for nonceTTL, usable once.
func (k *keyring) challenge() ([]byte, time.Time) {
	var n [trust.NonceSize]byte
	rand.Read(n[:]) // never fails (crypto/rand, Go 1.24+)
	k.mu.Lock()
	defer k.mu.Unlock()
	exp := k.now().Add(nonceTTL)
	makeRoom(k.nonces, maxNonces, k.now(), func(e time.Time) time.Time { return e })
	k.nonces[n] = exp
	return n[:], exp
}

// useNonce reports whether n was issued and has not expired, and forgets it
// either way: a nonce is good for one attempt.
func (k *keyring) useNonce(n []byte) bool {
	var key [trust.NonceSize]byte
	if len(n) != len(key) {
		return false
	}
	copy(key[:], n)
	k.mu.Lock()
	defer k.mu.Unlock()
	exp, ok := k.nonces[key]
	delete(k.nonces, key)
	return ok && k.now().Before(exp)
}

// open starts session s, which ends at s.expires or after its TTL,
// whichever is first, and returns its token and end.
func (k *keyring) open(s session) (string, time.Time) {
	var tok [32]byte
	rand.Read(tok[:])
	token := trust.B64(tok[:])
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	ttl := sessionTTL
	if s.officer {
		ttl = officerTTL
	}
	if s.expires.IsZero() || now.Add(ttl).Before(s.expires) {
		s.expires = now.Add(ttl)
	}
	s.opened = now
	k.evictOldestOf(s.holder(), now)
	makeRoom(k.sessions, maxSessions, now, func(s session) time.Time { return s.expires })
	k.sessions[sha256.Sum256([]byte(token))] = s
	return token, s.expires
}

// evictOldestOf forgets holder's expired sessions, then its oldest ones
// until it has room for one more.
func (k *keyring) evictOldestOf(holder string, now time.Time) {
	for {
		var oldest [sha256.Size]byte
		var at time.Time
		n := 0
		for key, s := range k.sessions {
			if s.holder() != holder {
				continue
			}
			if !now.Before(s.expires) {
				delete(k.sessions, key)
				continue
			}
			n++
			if at.IsZero() || s.opened.Before(at) {
				oldest, at = key, s.opened
			}
		}
		if n < maxPerHolder {
			return
		}
		delete(k.sessions, oldest)
	}
}

// lookup returns the session of a token, if it is open.
func (k *keyring) lookup(token string) (session, bool) {
	key := sha256.Sum256([]byte(token))
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.sessions[key]
	if ok && !k.now().Before(s.expires) {
		delete(k.sessions, key)
		return session{}, false
	}
	return s, ok
}

// close ends the session of a token.
func (k *keyring) close(token string) {
	k.mu.Lock()
	delete(k.sessions, sha256.Sum256([]byte(token)))
	k.mu.Unlock()
}

// makeRoom keeps m under max entries: it drops the expired ones, then, if
// still full, the one that expires first.
func makeRoom[K comparable, V any](m map[K]V, max int, now time.Time, expiry func(V) time.Time) {
	if len(m) < max {
		return
	}
	for k, v := range m {
		if !now.Before(expiry(v)) {
			delete(m, k)
		}
	}
	for len(m) >= max {
		var first K
		var at time.Time
		for k, v := range m {
			if e := expiry(v); at.IsZero() || e.Before(at) {
				first, at = k, e
			}
		}
		delete(m, first)
	}
}
