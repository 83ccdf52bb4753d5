package relay

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/turn/v5"

	"hotline/internal/pionlog"
)

// pionLogs sends the TURN server's logs to the relay's logger.
type pionLogs = pionlog.Factory

// generator is the relay's turn.RelayAddressGenerator: every allocation
// gets a UDP socket on the media IP that talks to the media socket only.
type generator struct{ r *Relay }

func (g *generator) Validate() error { return nil }

func (g *generator) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	r := g.r
	if c.Network != "udp4" && c.Network != "udp6" {
		return nil, nil, fmt.Errorf("relay: %s allocation: %w", c.Network, ErrNotMedia)
	}
	if (c.Network == "udp4") != (r.cfg.Media.IP.To4() != nil) {
		// RFC 8656 §7.2: the address family must be one the server
		// relays; ours is the media socket's.
		return nil, nil, fmt.Errorf("relay: %s allocation for a %s media socket: %w", c.Network, r.cfg.Media.Network(), ErrNotMedia)
	}
	// The port is the system's choice: RFC 8656 §7.2 lets the server
	// ignore EVEN-PORT and RESERVATION-TOKEN preferences it cannot meet.
	conn, err := net.ListenUDP(c.Network, &net.UDPAddr{IP: r.cfg.Media.IP})
	if err != nil {
		return nil, nil, fmt.Errorf("relay: socket: %w", err)
	}
	rc := &relayConn{UDPConn: conn, r: r, user: c.UserID}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Checked here, under the lock that revoke takes: a socket is either
	// refused or closed by the session's revoke.
	if !r.live[c.UserID] {
		conn.Close()
		return nil, nil, ErrRevoked
	}
	if len(r.allocs[c.UserID]) >= maxAllocations {
		conn.Close()
		return nil, nil, ErrQuota
	}
	if r.allocs[c.UserID] == nil {
		r.allocs[c.UserID] = map[*relayConn]struct{}{}
	}
	r.allocs[c.UserID][rc] = struct{}{}
	return rc, conn.LocalAddr(), nil
}

// AllocateListener refuses TCP allocations (RFC 6062): the media socket
// speaks UDP, and a TCP relay could be pointed anywhere.
func (g *generator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, ErrTCPRelay
}

// AllocateConn refuses RFC 6062 Connect requests, for the same reason.
func (g *generator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, ErrTCPRelay
}

func (r *Relay) release(rc *relayConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.allocs[rc.user], rc)
	if len(r.allocs[rc.user]) == 0 {
		delete(r.allocs, rc.user)
	}
}

// relayConn is one allocation's relay socket. It writes only to the media
// socket and reads only from it: whatever Pion's permissions say, nothing
// else is reached, not even another port on the media IP.
type relayConn struct {
	*net.UDPConn
	r    *Relay
	user string

	mu      sync.Mutex
	alias   *net.UDPAddr // the address the client names the media socket by
	once    sync.Once
	revoked atomic.Bool // the session ended: nothing passes any more
}

// WriteTo sends a client's relayed packet, if it is for the media socket
// under one of its addresses.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.revoked.Load() {
		return 0, ErrRevoked
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua.Port != c.r.cfg.Media.Port || !c.r.isMediaIP(ua.IP) {
		return 0, fmt.Errorf("%w: %v", ErrNotMedia, addr)
	}
	c.mu.Lock()
	c.alias = ua
	c.mu.Unlock()
	return c.UDPConn.WriteTo(p, c.r.cfg.Media)
}

// ReadFrom returns the next packet from the media socket, as coming from
// the address the client sends to (so that it matches the client's
// permission); packets from anyone else are dropped.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, from, err := c.UDPConn.ReadFromUDP(p)
		if err != nil {
			return n, from, err
		}
		if c.revoked.Load() || from.Port != c.r.cfg.Media.Port || !from.IP.Equal(c.r.cfg.Media.IP) {
			continue
		}
		c.mu.Lock()
		alias := c.alias
		c.mu.Unlock()
		if alias == nil {
			return n, from, nil
		}
		return n, alias, nil
	}
}

func (c *relayConn) Close() error {
	c.once.Do(func() { c.r.release(c) })
	return c.UDPConn.Close()
}
