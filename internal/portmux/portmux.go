// Package portmux shares one TCP port between the three protocols a client
// behind a UDP-blocking firewall may speak to the server's media port: ICE
// over TCP (RFC 6544, STUN and media framed as in RFC 4571), TURN over TCP
// (RFC 8656 §3.1, STUN messages back to back) and TURN over TLS (the same,
// inside TLS). It tells them apart by the first bytes of each connection:
//
//   - a TLS ClientHello record starts with content type 22 (RFC 8446 §5.1);
//   - a STUN message has the magic cookie 0x2112A442 at bytes 4..7
//     (RFC 8489 §5): TURN over TCP;
//   - an RFC 4571 frame is a 2-byte length followed by the STUN message, so
//     the cookie is at bytes 6..9: ICE over TCP.
//
// Each kind is handed out by its own net.Listener, which is what Pion's ICE
// TCP mux and its TURN server accept.
package portmux

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Kind is the protocol a connection speaks.
type Kind int

// Kinds of connection; Unknown ones are closed.
const (
	Unknown Kind = iota
	ICE          // ICE over TCP, RFC 4571 framing
	TURN         // TURN over plain TCP
	TLS          // a TLS handshake (TURN over TLS)
	numKinds
)

func (k Kind) String() string {
	switch k {
	case ICE:
		return "ice-tcp"
	case TURN:
		return "turn-tcp"
	case TLS:
		return "tls"
	}
	return "unknown"
}

// peekBytes is how much Classify needs: the cookie of a framed STUN message
// ends at byte 10.
const peekBytes = 10

// sniffTimeout bounds how long a connection may stay silent before it is
// classified; a client always speaks first on all three protocols.
const sniffTimeout = 10 * time.Second

// maxPending bounds the connections being classified at once, so that idle
// connections cannot pile up goroutines.
const maxPending = 256

var stunCookie = []byte{0x21, 0x12, 0xA4, 0x42}

// Classify says which protocol a connection starting with head speaks. head
// must hold at least 10 bytes, or be everything the peer sent.
func Classify(head []byte) Kind {
	switch {
	case len(head) >= 1 && head[0] == 0x16:
		return TLS
	case len(head) >= 8 && head[0]&0xC0 == 0 && bytes.Equal(head[4:8], stunCookie):
		return TURN
	case len(head) >= 10 && head[2]&0xC0 == 0 && bytes.Equal(head[6:10], stunCookie):
		return ICE
	}
	return Unknown
}

// ErrClosed is returned by Accept once the Mux is closed.
var ErrClosed = errors.New("portmux: closed")

// Mux accepts connections on one listener and sorts them by Kind.
type Mux struct {
	ln      net.Listener
	log     *slog.Logger
	mu      sync.Mutex
	subs    [numKinds]*listener // nil: nobody takes that kind; its connections are closed
	pending chan struct{}
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// New starts sorting ln's connections. Close the Mux, not ln.
func New(ln net.Listener, log *slog.Logger) *Mux {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mux{ln: ln, log: log, pending: make(chan struct{}, maxPending), done: make(chan struct{})}
	m.wg.Go(m.accept)
	return m
}

// Listener hands out the connections of kind k (ICE, TURN or TLS); until it
// is asked for, connections of that kind are closed. Closing it closes the
// Mux.
func (m *Mux) Listener(k Kind) net.Listener {
	if k <= Unknown || k >= numKinds {
		panic("portmux: no listener for " + k.String())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs[k] == nil {
		m.subs[k] = &listener{m: m, conns: make(chan net.Conn)}
	}
	return m.subs[k]
}

func (m *Mux) taker(k Kind) *listener {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subs[k]
}

// Addr is the shared port's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Close stops accepting, closes every connection not yet handed out, and
// waits for the Mux's goroutines.
func (m *Mux) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		err = m.ln.Close()
	})
	m.wg.Wait()
	return err
}

func (m *Mux) accept() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		select {
		case m.pending <- struct{}{}:
		default:
			m.log.Debug("portmux: too many unclassified connections", "remote", c.RemoteAddr())
			c.Close()
			continue
		}
		m.wg.Go(func() {
			defer func() { <-m.pending }()
			m.sort(c)
		})
	}
}

func (m *Mux) sort(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 64)
	head, err := br.Peek(peekBytes)
	if err != nil && !(errors.Is(err, io.EOF) && len(head) > 0) {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	k := Classify(head)
	sub := m.taker(k)
	if sub == nil {
		m.log.Debug("portmux: protocol not served", "kind", k, "remote", c.RemoteAddr())
		c.Close()
		return
	}
	pc := &peekedConn{Conn: c, r: br}
	select {
	case sub.conns <- pc:
	case <-m.done:
		c.Close()
	}
}

// peekedConn replays the bytes read while classifying.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// listener is one kind's view of the Mux.
type listener struct {
	m     *Mux
	conns chan net.Conn
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.m.done:
		return nil, ErrClosed
	}
}

func (l *listener) Close() error {
	l.m.once.Do(func() {
		close(l.m.done)
		_ = l.m.ln.Close()
	})
	return nil
}

func (l *listener) Addr() net.Addr { return l.m.ln.Addr() }
