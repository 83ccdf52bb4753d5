package resilience

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy relays TCP from its own loopback address to the server's, so that
// a test can kill the client's side of every connection (a reset, as a
// dead network path ends up) while the server's side stays open and silent,
// as the server sees a path that died without a word.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu      sync.Mutex
	clients []*net.TCPConn
	servers []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.clients {
			c.Close()
		}
		for _, c := range p.servers {
			c.Close()
		}
	})
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.clients = append(p.clients, c.(*net.TCPConn))
		p.servers = append(p.servers, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c) }()
		go func() { _, _ = io.Copy(c, s) }()
	}
}

// cut resets every client connection; their server sides stay open but
// carry nothing more.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		_ = c.SetLinger(0) // close with a reset
		c.Close()
	}
	p.clients = nil
	p.servers = nil // still open: the server learns nothing
}
