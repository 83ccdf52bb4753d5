package limit

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type counts struct {
	mu      sync.Mutex
	refused map[string]int
	accept  int
}

func (c *counts) ConnRefused(r string) { c.mu.Lock(); c.refused[r]++; c.mu.Unlock() }
func (c *counts) AcceptError()         { c.mu.Lock(); c.accept++; c.mu.Unlock() }
func (c *counts) get(r string) int     { c.mu.Lock(); defer c.mu.Unlock(); return c.refused[r] }
func (c *counts) accepts() int         { c.mu.Lock(); defer c.mu.Unlock(); return c.accept }

// syncBuffer is a log sink safe for the accept goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// serve accepts on l and echoes one byte per connection, keeping each open.
func serve(t *testing.T, l net.Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				var b [1]byte
				if _, err := c.Read(b[:]); err == nil {
					c.Write(b[:])
				}
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
}

// patience bounds every wait for the listener.
const patience = 90 * time.Second

// dial connects from the loopback address src and checks whether the
// server keeps the connection (echo) or drops it.
func dial(t *testing.T, addr, src string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// Kept, the byte comes back; refused, the read ends at once. The
	// deadline only stops a broken run from hanging: a loaded machine may
	// take its time to echo.
	c.SetDeadline(time.Now().Add(patience))
	c.Write([]byte{1})
	var b [1]byte
	_, err = c.Read(b[:])
	return c, err == nil
}

// TestListenerBounds: connections over the per-address bound are closed at
// once while another address still gets in; over the total bound nobody
// does; a closed connection frees its place; refusals are counted and
// logged at warn, a few lines for many refusals.
func TestListenerBounds(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	obs := &counts{refused: map[string]int{}}
	l := NewListener(raw, ListenerConfig{MaxConns: 5, MaxPerAddress: 3, Log: slog.New(slog.NewTextHandler(&logs, nil)), Observer: obs,
		WarnInterval: time.Hour}) // the whole test within one interval, however slow the machine
	defer l.Close()
	addr := raw.Addr().String()
	serve(t, l)

	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range 3 {
		c, ok := dial(t, addr, "127.0.0.2")
		if !ok {
			t.Fatalf("connection %d from 127.0.0.2 refused under the bound", i)
		}
		held = append(held, c)
	}
	for range 10 {
		c, ok := dial(t, addr, "127.0.0.2")
		c.Close()
		if ok {
			t.Fatal("a fourth connection from 127.0.0.2 was kept")
		}
	}
	if n := obs.get(ReasonPerAddress); n != 10 {
		t.Errorf("%d per-address refusals counted, want 10", n)
	}
	for range 2 {
		c, ok := dial(t, addr, "127.0.0.3")
		if !ok {
			t.Fatal("another address was refused under the total bound")
		}
		held = append(held, c)
	}
	c, ok := dial(t, addr, "127.0.0.4")
	c.Close()
	if ok || obs.get(ReasonTotal) != 1 {
		t.Fatalf("a sixth connection was kept (%v) or not counted (%d)", ok, obs.get(ReasonTotal))
	}
	held[0].Close()
	held = held[1:]
	deadline := time.Now().Add(patience)
	for l.Open() > 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c, ok = dial(t, addr, "127.0.0.4")
	if !ok {
		t.Fatal("a place freed by a closed connection was not given to the next")
	}
	held = append(held, c)
	// One warning per kind within the interval, not one per refusal.
	if lines := strings.Count(logs.String(), "level=WARN"); lines != 2 {
		t.Errorf("%d warnings logged for 11 refusals of two kinds in one interval, want 2:\n%s", lines, logs.String())
	}
}

// TestWarner: after a quiet spell the next warning says how many were left
// out.
func TestWarner(t *testing.T) {
	var logs syncBuffer
	w := NewWarner(slog.New(slog.NewTextHandler(&logs, nil)), 50*time.Millisecond)
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }
	for range 5 {
		w.Warn("k", "refused")
		now = now.Add(time.Millisecond)
	}
	now = now.Add(60 * time.Millisecond)
	w.Warn("k", "refused")
	out := logs.String()
	if strings.Count(out, "level=WARN") != 2 || !strings.Contains(out, "suppressed=4") {
		t.Errorf("log:\n%s", out)
	}
}

// emfile makes its inner listener's first n accepts fail as a process out
// of file descriptors does (accept4: EMFILE).
type emfile struct {
	net.Listener
	n int
}

func (e *emfile) Accept() (net.Conn, error) {
	if e.n > 0 {
		e.n--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: &net.OpError{Err: syscall.EMFILE}}
	}
	return e.Listener.Accept()
}

// TestListenerAcceptErrors: "too many open files" is retried (not fatal),
// counted, and logged at warn; a closed listener ends Accept.
func TestListenerAcceptErrors(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	obs := &counts{refused: map[string]int{}}
	l := NewListener(&emfile{Listener: raw, n: 4}, ListenerConfig{Log: slog.New(slog.NewTextHandler(&logs, nil)), Observer: obs})
	serve(t, l)
	c, ok := dial(t, raw.Addr().String(), "127.0.0.1")
	c.Close()
	if !ok {
		t.Fatal("no connection after the accept errors")
	}
	if obs.accepts() != 4 || !strings.Contains(logs.String(), "too many open files") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("accept errors counted %d, want 4; log:\n%s", obs.accepts(), logs.String())
	}
	l.Close()
	if _, err := l.Accept(); err == nil {
		t.Error("Accept on a closed listener succeeded")
	}
}

// TestRate: a key gets its burst, then waits; other keys are not affected;
// the number of keys tracked stays bounded.
func TestRate(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRate(time.Minute, 3, 4)
	r.now = func() time.Time { return now }
	for i := range 3 {
		if !r.Allow("a") {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	if r.Allow("a") {
		t.Fatal("request over the burst allowed")
	}
	if !r.Allow("b") {
		t.Fatal("another key refused")
	}
	now = now.Add(time.Minute)
	if !r.Allow("a") || r.Allow("a") {
		t.Fatal("one token a minute")
	}
	for i := range 100 {
		r.Allow(string(rune('c' + i)))
	}
	if n := len(r.buckets); n > 4 {
		t.Errorf("%d keys tracked, bound 4", n)
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.2:5000":             "127.0.0.2/32",
		"[::ffff:10.0.0.1]:1":        "10.0.0.1/32",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"garbage":                    "garbage",
	} {
		if got := AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
