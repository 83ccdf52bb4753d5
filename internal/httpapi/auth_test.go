package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/booking"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testKeyring() (*keyring, *fakeClock) {
	clk := &fakeClock{t: time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)}
	k := newKeyring()
	k.now = clk.now
	return k, clk
}

func TestNonces(t *testing.T) {
	k, clk := testKeyring()
	n, exp := k.challenge()
	if len(n) != trust.NonceSize || !exp.Equal(clk.now().Add(nonceTTL)) {
		t.Fatalf("nonce %x expires %v", n, exp)
	}
	if !k.useNonce(n) {
		t.Fatal("fresh nonce refused")
	}
	if k.useNonce(n) {
		t.Fatal("nonce used twice")
	}
	old, _ := k.challenge()
	clk.add(nonceTTL)
	if k.useNonce(old) {
		t.Fatal("nonce accepted at its expiry")
	}
	if k.useNonce(make([]byte, 31)) || k.useNonce(make([]byte, 32)) {
		t.Fatal("a nonce never issued was accepted")
	}
	// Bounded: past maxNonces, the oldest is forgotten.
	first, _ := k.challenge()
	clk.add(time.Millisecond)
	var last []byte
	for range maxNonces {
		last, _ = k.challenge()
		clk.add(time.Microsecond)
	}
	if len(k.nonces) > maxNonces {
		t.Fatalf("%d nonces kept, at most %d", len(k.nonces), maxNonces)
	}
	if k.useNonce(first) || !k.useNonce(last) {
		t.Fatal("the bound did not forget the oldest nonce only")
	}
}

func TestSessions(t *testing.T) {
	k, clk := testKeyring()
	c := booking.Caller{Line: "demo", Side: "east", Name: "East Operator", Roles: []role.Role{role.Operator}}
	tok, exp := k.open(session{caller: c, expires: clk.now().Add(30 * 24 * time.Hour)})
	if raw, err := trust.DecodeB64(tok); err != nil || len(raw) != 32 || !exp.Equal(clk.now().Add(sessionTTL)) {
		t.Fatalf("token %q (%v) expires %v", tok, err, exp)
	}
	if s, ok := k.lookup(tok); !ok || s.caller.Name != "East Operator" {
		t.Fatalf("lookup: %+v %v", s, ok)
	}
	if _, ok := k.lookup(tok + "x"); ok {
		t.Fatal("another token accepted")
	}
	for h := range k.sessions {
		if bytes.Contains(h[:], []byte(tok)) {
			t.Fatal("the token is kept in clear")
		}
	}
	// A session ends with its credential if that comes first.
	short, exp2 := k.open(session{caller: c, expires: clk.now().Add(time.Hour)})
	if !exp2.Equal(clk.now().Add(time.Hour)) {
		t.Fatalf("session outlives its credential: %v", exp2)
	}
	clk.add(time.Hour)
	if _, ok := k.lookup(short); ok {
		t.Fatal("session open after its credential expired")
	}
	clk.add(sessionTTL - time.Hour - time.Second)
	if _, ok := k.lookup(tok); !ok {
		t.Fatal("session closed before 12 h")
	}
	clk.add(time.Second)
	if _, ok := k.lookup(tok); ok {
		t.Fatal("session open after 12 h")
	}
	// Bounded: expired sessions go first, then the one closest to expiry.
	k, clk = testKeyring()
	soonest, _ := k.open(session{caller: c, expires: clk.now().Add(time.Minute)})
	var toks []string
	for i := range maxSessions {
		c.Device = fmt.Sprint("device-", i) // one session each: the per-device bound stays out of this
		tok, _ := k.open(session{caller: c, expires: clk.now().Add(24 * time.Hour)})
		toks = append(toks, tok)
	}
	if len(k.sessions) > maxSessions {
		t.Fatalf("%d sessions kept", len(k.sessions))
	}
	if _, ok := k.lookup(soonest); ok {
		t.Fatal("the session closest to expiry was kept past the bound")
	}
	if _, ok := k.lookup(toks[len(toks)-1]); !ok {
		t.Fatal("the newest session was dropped")
	}
}

// TestSessionsPerDevice: one credential signing in again and again (4,100
// times, as a hostile monitor did) keeps at most maxPerHolder sessions, its
// newest, and signs nobody else out.
func TestSessionsPerDevice(t *testing.T) {
	k, clk := testKeyring()
	op := booking.Caller{Line: "demo", Side: "east", Name: "East Operator", Device: "op", Roles: []role.Role{role.Operator}}
	opTok, _ := k.open(session{caller: op})
	officerTok, _ := k.open(session{caller: booking.Caller{Line: "demo", Side: "east"}, officer: true})
	flood := booking.Caller{Line: "demo", Side: "west", Name: "West Adviser", Device: "flood", Roles: []role.Role{role.Adviser}}
	var last []string
	for range 4100 {
		clk.add(time.Millisecond)
		tok, _ := k.open(session{caller: flood})
		last = append(last, tok)
	}
	if _, ok := k.lookup(opTok); !ok {
		t.Fatal("another device's sessions signed the operator out")
	}
	if _, ok := k.lookup(officerTok); !ok {
		t.Fatal("another device's sessions signed the officer out")
	}
	if n := len(k.sessions); n != maxPerHolder+2 {
		t.Errorf("%d sessions kept, want %d of the flooding device and 2 others", n, maxPerHolder)
	}
	for i, tok := range last {
		_, ok := k.lookup(tok)
		if newest := i >= len(last)-maxPerHolder; ok != newest {
			t.Fatalf("session %d of %d: open %v", i, len(last), ok)
		}
	}
}

// Over HTTP, with the server's clock moved: a nonce older than 60 s and a
// session older than 12 h are refused with 401.
func TestExpiryOverHTTP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := demo.Provision(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := New(Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Booking: booking.New(st)})
	clk := &fakeClock{t: time.Now()}
	a.keys.now = clk.now
	srv := httptest.NewServer(a) // on 127.0.0.1
	defer srv.Close()
	dev, err := d.EnrolDevice(demo.East, "East Operator", role.Operator)
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, body any) (int, map[string]any) {
		t.Helper()
		data, _ := json.Marshal(body)
		res, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	open := func(wait time.Duration) (int, map[string]any) {
		_, ch := post("/api/session/challenge", map[string]any{})
		nonce, _ := trust.DecodeB64(ch["nonce"].(string))
		clk.add(wait)
		return post("/api/session", map[string]any{"line": demo.Line, "credential": dev.Credential, "nonce": ch["nonce"], "proof": trust.B64(dev.SessionProof(nonce, strings.TrimPrefix(srv.URL, "http://"), demo.Line))})
	}
	if status, out := open(nonceTTL); status != http.StatusUnauthorized || out["error"] == nil {
		t.Fatalf("expired nonce: %d %v", status, out)
	}
	status, out := open(nonceTTL - time.Second)
	if status != http.StatusOK {
		t.Fatalf("nonce within its 60 s: %d %v", status, out)
	}
	get := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/calls", nil)
		req.Header.Set("Authorization", "Bearer "+out["token"].(string))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := get(); s != http.StatusOK {
		t.Fatalf("fresh session: %d", s)
	}
	clk.add(sessionTTL)
	if s := get(); s != http.StatusUnauthorized {
		t.Fatalf("session after 12 h: %d", s)
	}
}
