// Package packetcache keeps the most recent RTP packets of one stream, indexed
// by sequence number, so that NACKs (RFC 4585 §6.2.1) can be answered without
// asking the publisher again. Storage is allocated once: Put copies into a
// fixed slot, Get copies out, and neither allocates.
package packetcache

import "sync"

// MaxPacket is the largest packet kept; larger ones (which an MTU-sized RTP
// path never produces) are not cached.
const MaxPacket = 1500

type slot struct {
	seq   uint16
	valid bool
	n     int
	buf   [MaxPacket]byte
}

// Cache holds the last Size() packets. It is safe for concurrent use: one
// reader loop puts, many subscribers' RTCP loops get.
type Cache struct {
	mu    sync.Mutex
	slots []slot
}

// New returns a cache for size packets. size is rounded up to a power of two
// so that a sequence number maps to its slot with a mask.
func New(size int) *Cache {
	n := 1
	for n < size {
		n <<= 1
	}
	return &Cache{slots: make([]slot, n)}
}

// Size is the number of packets the cache holds.
func (c *Cache) Size() int { return len(c.slots) }

// Put stores a copy of pkt under seq. It reports false if pkt is too large.
func (c *Cache) Put(seq uint16, pkt []byte) bool {
	if len(pkt) > MaxPacket {
		return false
	}
	c.mu.Lock()
	s := &c.slots[int(seq)&(len(c.slots)-1)]
	s.seq, s.valid, s.n = seq, true, len(pkt)
	copy(s.buf[:], pkt)
	c.mu.Unlock()
	return true
}

// Get copies the packet with sequence number seq into dst and returns its
// length, or 0 if the packet is not (or no longer) cached or dst is too small.
func (c *Cache) Get(seq uint16, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[int(seq)&(len(c.slots)-1)]
	if !s.valid || s.seq != seq || len(dst) < s.n {
		return 0
	}
	return copy(dst, s.buf[:s.n])
}
