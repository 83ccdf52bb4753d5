package packetcache

import (
	"bytes"
	"testing"
)

func TestPutGet(t *testing.T) {
	c := New(100)
	if c.Size() != 128 {
		t.Fatalf("size %d, want 128", c.Size())
	}
	dst := make([]byte, MaxPacket)
	for i := 0; i < 300; i++ {
		seq := uint16(65500 + i) // wraps around 65535
		c.Put(seq, []byte{byte(i), byte(i >> 8), 7})
	}
	// The last 128 are present, older ones were overwritten.
	for i := 300 - 128; i < 300; i++ {
		seq := uint16(65500 + i)
		n := c.Get(seq, dst)
		if n != 3 || !bytes.Equal(dst[:n], []byte{byte(i), byte(i >> 8), 7}) {
			t.Fatalf("seq %d: got %v", seq, dst[:n])
		}
	}
	old := 65500 + 300 - 129
	if n := c.Get(uint16(old), dst); n != 0 {
		t.Fatalf("evicted packet still returned (%d bytes)", n)
	}
	if n := c.Get(12345, dst); n != 0 {
		t.Fatalf("never-stored packet returned")
	}
}

func TestBounds(t *testing.T) {
	c := New(4)
	if c.Put(1, make([]byte, MaxPacket+1)) {
		t.Fatal("oversized packet accepted")
	}
	c.Put(2, []byte{1, 2, 3})
	if n := c.Get(2, make([]byte, 2)); n != 0 {
		t.Fatal("copied into a too-small buffer")
	}
}

func BenchmarkPut(b *testing.B) {
	c := New(512)
	pkt := make([]byte, 1200)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for i := 0; b.Loop(); i++ {
		c.Put(uint16(i), pkt)
	}
}

func BenchmarkGet(b *testing.B) {
	c := New(512)
	pkt := make([]byte, 1200)
	for i := 0; i < 512; i++ {
		c.Put(uint16(i), pkt)
	}
	dst := make([]byte, MaxPacket)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Get(uint16(i&511), dst) == 0 {
			b.Fatal("miss")
		}
	}
}
