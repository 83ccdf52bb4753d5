package topology

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Relay forwards TCP from its own loopback address to a target, so that a
// test can make a connection die the way a changed network kills it: Cut
// resets the client's side of every connection, while the target's side
// stays open and silent (the server learns nothing, as when the client's
// address went away).
type Relay struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	clients []*net.TCPConn
	servers []net.Conn
}

// NewRelay listens on 127.0.0.1 and relays to target ("host:port") until
// the test ends.
func NewRelay(t testing.TB, target string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{ln: ln, target: target}
	go r.accept()
	t.Cleanup(r.close)
	return r
}

// Addr is the relay's "host:port".
func (r *Relay) Addr() string { return r.ln.Addr().String() }

func (r *Relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.clients = append(r.clients, c.(*net.TCPConn))
		r.servers = append(r.servers, s)
		r.mu.Unlock()
		go func() { _, _ = io.Copy(s, c) }()
		go func() { _, _ = io.Copy(c, s) }()
	}
}

// Cut resets every client connection made so far; their target sides stay
// open but carry nothing more (until the test ends).
func (r *Relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		_ = c.SetLinger(0) // close with a reset
		c.Close()
	}
	r.clients = nil
}

func (r *Relay) close() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.Close()
	}
	for _, c := range r.servers {
		c.Close()
	}
}
