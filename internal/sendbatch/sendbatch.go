// Package sendbatch wraps the server's media UDP socket so that the packets
// one published packet fans out into leave in one system call (Linux
// sendmmsg(2), through golang.org/x/net/ipv4's WriteBatch) instead of one
// sendto(2) each. Pion's ICE UDP mux writes one packet per call and offers no
// batching of its own; it is handed a *Conn in place of the socket.
//
// Batching is opened around a fan-out by whoever drives it (the SFU's read
// loop): Begin, the writes to every subscriber (SRTP-protected by Pion and
// passed down to WriteToAddrPort, which copies them into the queue), then
// Flush, which sends everything queued. While no batch is open, writes go
// straight to the socket. A write from another goroutine made while some
// batch is open is queued too and leaves with that batch's Flush, at most
// one fan-out later; nothing queued outlives the last open batch.
package sendbatch

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

// MaxBatch bounds the queue: a fan-out to more subscribers than this sends
// a full batch early and goes on queueing. 64 covers any call hotline
// allows (protocol.MaxParticipants) with room for concurrent fan-outs.
const MaxBatch = 64

// slotSize is the most a queued packet may carry; larger ones (none on a
// 1500-byte MTU path) are written at once.
const slotSize = 1500

// Conn is a UDP socket whose writes can be batched. It implements
// net.PacketConn and the netip.AddrPort reads and writes that Pion's ICE UDP
// mux uses when a connection offers them.
type Conn struct {
	udp   *net.UDPConn
	batch *ipv4.PacketConn

	mu    sync.Mutex
	open  int // batches begun and not yet flushed
	n     int // queued packets
	msgs  [MaxBatch]ipv4.Message
	addrs [MaxBatch]net.UDPAddr
	ips   [MaxBatch][16]byte
	bufs  [MaxBatch][slotSize]byte
	bufv  [MaxBatch][1][]byte
}

// New wraps c. The caller gives up c: close it through the Conn.
func New(c *net.UDPConn) *Conn {
	b := &Conn{udp: c, batch: ipv4.NewPacketConn(c)}
	for i := range b.msgs {
		b.addrs[i].IP = b.ips[i][:]
		b.msgs[i].Addr = &b.addrs[i]
		b.bufv[i][0] = b.bufs[i][:]
		b.msgs[i].Buffers = b.bufv[i][:]
	}
	return b
}

// Begin opens a batch: until the matching Flush, writes are queued.
func (c *Conn) Begin() {
	c.mu.Lock()
	c.open++
	c.mu.Unlock()
}

// Flush closes the batch opened by Begin and sends everything queued, in
// the order written.
func (c *Conn) Flush() {
	c.mu.Lock()
	if c.open > 0 {
		c.open--
	}
	c.sendLocked()
	c.mu.Unlock()
}

// sendLocked sends the queue. A UDP send that fails is dropped as a lost
// packet would be (the caller was told it was written): the socket's error
// for one peer must not hold back the others' packets.
func (c *Conn) sendLocked() {
	sent := 0
	for sent < c.n {
		k, err := c.batch.WriteBatch(c.msgs[sent:c.n], 0)
		if err != nil || k <= 0 {
			k = 1 // skip the packet the kernel refused
		}
		sent += k
	}
	c.n = 0
}

// WriteToAddrPort queues b for addr while a batch is open, or writes it now.
func (c *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if len(b) <= slotSize {
		c.mu.Lock()
		if c.open > 0 {
			if c.n == MaxBatch {
				c.sendLocked()
			}
			i := c.n
			c.n++
			a := &c.addrs[i]
			ip := addr.Addr().Unmap()
			if ip.Is4() {
				v4 := ip.As4()
				a.IP = c.ips[i][:4]
				copy(a.IP, v4[:])
			} else {
				v6 := ip.As16()
				a.IP = c.ips[i][:16]
				copy(a.IP, v6[:])
			}
			a.Port = int(addr.Port())
			c.bufv[i][0] = c.bufs[i][:copy(c.bufs[i][:], b)]
			c.mu.Unlock()
			return len(b), nil
		}
		c.mu.Unlock()
	}
	return c.udp.WriteToUDPAddrPort(b, addr)
}

// ReadFromAddrPort reads one packet.
func (c *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.udp.ReadFromUDPAddrPort(b)
}

// ReadFrom implements net.PacketConn.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) { return c.udp.ReadFrom(b) }

// WriteTo implements net.PacketConn (batched like WriteToAddrPort).
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errNotUDP
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

var errNotUDP = errors.New("sendbatch: not a UDP address")

// Close sends what is queued and closes the socket.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.sendLocked()
	c.mu.Unlock()
	return c.udp.Close()
}

// LocalAddr implements net.PacketConn.
func (c *Conn) LocalAddr() net.Addr { return c.udp.LocalAddr() }

// SetDeadline implements net.PacketConn.
func (c *Conn) SetDeadline(t time.Time) error { return c.udp.SetDeadline(t) }

// SetReadDeadline implements net.PacketConn.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.udp.SetReadDeadline(t) }

// SetWriteDeadline implements net.PacketConn.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.udp.SetWriteDeadline(t) }
