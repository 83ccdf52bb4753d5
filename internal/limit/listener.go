// Package limit bounds what strangers can hold of a server: TCP connections
// in total and per source address (Listener), requests per address over
// time (Rate), and the warnings these refusals log (Warner), so that a
// flood cannot fill the log either. It knows nothing of HTTP or calls.
package limit

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Why a connection was refused; the Observer and the log say it.
const (
	ReasonTotal      = "total"       // the server holds MaxConns connections
	ReasonPerAddress = "per_address" // the source address holds MaxPerAddress
)

// Observer counts refusals and accept errors (internal/metrics).
type Observer interface {
	ConnRefused(reason string)
	AcceptError()
}

// ListenerConfig bounds a Listener. A bound of 0 or less is no bound.
type ListenerConfig struct {
	MaxConns      int // open connections in total
	MaxPerAddress int // open connections from one source address (IPv6: one /64)
	Log           *slog.Logger
	Observer      Observer      // optional
	WarnInterval  time.Duration // at most one warning per kind this often; 0: a second
}

// Listener wraps a net.Listener: a connection over a bound is closed as
// soon as it is accepted, before a byte is read from it, and the next one
// is accepted. Accept errors such as "too many open files" are logged,
// counted and retried after a short pause instead of ending the server.
type Listener struct {
	net.Listener
	cfg  ListenerConfig
	warn *Warner

	mu    sync.Mutex
	total int
	per   map[netip.Prefix]int
}

// NewListener bounds ln.
func NewListener(ln net.Listener, cfg ListenerConfig) *Listener {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.WarnInterval <= 0 {
		cfg.WarnInterval = time.Second
	}
	return &Listener{Listener: ln, cfg: cfg, warn: NewWarner(cfg.Log, cfg.WarnInterval), per: make(map[netip.Prefix]int)}
}

// Accept returns the next connection within the bounds.
func (l *Listener) Accept() (net.Conn, error) {
	var pause time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !retryable(err) {
				return nil, err
			}
			// EMFILE and its kind: the process or the system is out of
			// file descriptors. Pause (5 ms, doubling to 1 s, as
			// net/http does) so that closing connections can free some.
			if l.cfg.Observer != nil {
				l.cfg.Observer.AcceptError()
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			l.warn.Warn("accept", "accepting a connection failed; retrying", "err", err, "pause", pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		key := addressKey(c.RemoteAddr())
		if reason := l.take(key); reason != "" {
			// Counted and logged before the close, so that whoever sees
			// the close also sees the count.
			if l.cfg.Observer != nil {
				l.cfg.Observer.ConnRefused(reason)
			}
			l.warn.Warn("refused:"+reason, "connection refused: over the limit", "reason", reason, "from", key.String(),
				"max_conns", l.cfg.MaxConns, "max_per_address", l.cfg.MaxPerAddress)
			c.Close()
			continue
		}
		return &conn{Conn: c, release: func() { l.give(key) }}, nil
	}
}

// SetObserver sets the observer; call it before the first Accept.
func (l *Listener) SetObserver(o Observer) { l.cfg.Observer = o }

// Open is the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// take counts a new connection from key, or says why it may not open.
func (l *Listener) take(key netip.Prefix) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxConns > 0 && l.total >= l.cfg.MaxConns {
		return ReasonTotal
	}
	if l.cfg.MaxPerAddress > 0 && l.per[key] >= l.cfg.MaxPerAddress {
		return ReasonPerAddress
	}
	l.total++
	l.per[key]++
	return ""
}

func (l *Listener) give(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.per[key]--; l.per[key] <= 0 {
		delete(l.per, key)
	}
}

// conn gives its place back once, on the first Close.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// retryable: accept errors that say resources are short for now, not that
// the listener is gone.
func retryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// addressKey is what a bound per address counts: the IPv4 address, or the
// /64 an IPv6 address is in (one host usually holds a whole /64).
func addressKey(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// AddressKey is the key of a request's remote address ("host:port") under
// the same rule, for bounds kept above TCP (internal/httpapi).
func AddressKey(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return addressKey(net.TCPAddrFromAddrPort(ap)).String()
}
