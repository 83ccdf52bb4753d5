package sendbatch

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// pending reports whether a datagram waits on c, without waiting or
// consuming it: a send on loopback is delivered to the receiving socket
// within the sender's system call, so what was sent is already there.
func pending(t *testing.T, c *net.UDPConn) bool {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var rerr error
	buf := make([]byte, 1)
	if err := rc.Read(func(fd uintptr) bool {
		_, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	switch {
	case rerr == nil:
		return true
	case errors.Is(rerr, syscall.EAGAIN):
		return false
	default:
		t.Fatal(rerr)
		return false
	}
}

// drained is a receiver that reads and discards, as a subscriber would.
func drained(t testing.TB) netip.AddrPort {
	r := listen(t)
	go func() {
		buf := make([]byte, 2000)
		for {
			if _, _, err := r.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	return addrOf(r)
}

func read(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 2000)
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func TestBatchHeldUntilFlush(t *testing.T) {
	c := New(listen(t))
	a, b := listen(t), listen(t)
	c.Begin()
	want := [][]byte{[]byte("one to a"), []byte("two to b"), []byte("three to a")}
	for i, p := range want {
		dst := a
		if i == 1 {
			dst = b
		}
		if n, err := c.WriteToAddrPort(p, addrOf(dst)); err != nil || n != len(p) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
		p[0] = 'X' // the caller may reuse its buffer at once: the queue holds a copy
	}
	if pending(t, a) || pending(t, b) {
		t.Fatal("a queued packet left before Flush")
	}
	c.Flush()
	for _, w := range []struct {
		c    *net.UDPConn
		want string
	}{{a, "one to a"}, {a, "three to a"}, {b, "two to b"}} {
		if got := read(t, w.c); string(got) != w.want {
			t.Fatalf("got %q, want %q", got, w.want)
		}
	}
}

func TestUnbatchedWriteLeavesAtOnce(t *testing.T) {
	c := New(listen(t))
	a := listen(t)
	if _, err := c.WriteToAddrPort([]byte("now"), addrOf(a)); err != nil {
		t.Fatal(err)
	}
	if !pending(t, a) {
		t.Fatal("a write outside any batch was held")
	}
	read(t, a)
	// Through net.PacketConn's WriteTo as well, after a batch has closed.
	c.Begin()
	c.Flush()
	if _, err := c.WriteTo([]byte("also now"), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if !pending(t, a) {
		t.Fatal("a WriteTo after the batch closed was held")
	}
}

func TestNestedBatchesFlushEverything(t *testing.T) {
	c := New(listen(t))
	a := listen(t)
	c.Begin()
	c.Begin()
	if _, err := c.WriteToAddrPort([]byte("x"), addrOf(a)); err != nil {
		t.Fatal(err)
	}
	c.Flush() // the inner flush sends what is queued so far...
	if !pending(t, a) {
		t.Fatal("Flush left a queued packet behind")
	}
	read(t, a)
	if _, err := c.WriteToAddrPort([]byte("y"), addrOf(a)); err != nil {
		t.Fatal(err)
	}
	if pending(t, a) {
		t.Fatal("a write inside the outer batch left before its Flush")
	}
	c.Flush() // ...and the outer one the rest
	if got := read(t, a); string(got) != "y" {
		t.Fatalf("got %q", got)
	}
	c.Flush() // an unmatched Flush is harmless
	if _, err := c.WriteToAddrPort([]byte("z"), addrOf(a)); err != nil || !pending(t, a) {
		t.Fatalf("write after all batches closed: %v, held", err)
	}
}

func TestFullQueueSendsEarly(t *testing.T) {
	c := New(listen(t))
	a := listen(t)
	if err := a.SetReadBuffer(1 << 20); err != nil {
		t.Fatal(err)
	}
	c.Begin()
	for i := range MaxBatch + 3 {
		if _, err := c.WriteToAddrPort([]byte(fmt.Sprint(i)), addrOf(a)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range MaxBatch { // the first MaxBatch left when the queue filled
		if got := read(t, a); string(got) != fmt.Sprint(i) {
			t.Fatalf("packet %d: got %q", i, got)
		}
	}
	if pending(t, a) {
		t.Fatal("packets past the full queue left before Flush")
	}
	c.Flush()
	for i := MaxBatch; i < MaxBatch+3; i++ {
		if got := read(t, a); string(got) != fmt.Sprint(i) {
			t.Fatalf("packet %d: got %q", i, got)
		}
	}
}

func TestOversizedPacketWrittenAtOnce(t *testing.T) {
	c := New(listen(t))
	a := listen(t)
	big := bytes.Repeat([]byte{7}, slotSize+1)
	c.Begin()
	if _, err := c.WriteToAddrPort(big, addrOf(a)); err != nil {
		t.Fatal(err)
	}
	if !pending(t, a) {
		t.Fatal("a packet larger than a slot was held")
	}
	c.Flush()
	if got := read(t, a); !bytes.Equal(got, big) {
		t.Fatalf("got %d bytes, want the %d written", len(got), len(big))
	}
}

func TestNoAllocations(t *testing.T) {
	c := New(listen(t))
	subs := []netip.AddrPort{drained(t), drained(t), drained(t)}
	pkt := make([]byte, 1200)
	allocs := testing.AllocsPerRun(200, func() {
		c.Begin()
		for _, s := range subs {
			c.WriteToAddrPort(pkt, s)
		}
		c.Flush()
	})
	// Under the race detector sync.Pool drops what is put back at random,
	// so x/net's pooled sendmmsg headers are often made anew (a profile
	// shows only those: socket.init.func1 and mmsghdrsPacker.prepare);
	// there a little of that is let through, and the strict check is the
	// one without -race (go test -run TestNoAllocations ./internal/sendbatch/).
	if allocs != 0 && !(raceEnabled && allocs <= 2) {
		t.Fatalf("%.2f allocations per fan-out, want 0", allocs)
	}
}

// BenchmarkFanout: one 1200-byte packet to N receivers on loopback, batched
// (one sendmmsg) or not (N sendto); one op is the whole fan-out.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{2, 3, 8} {
		for _, batched := range []bool{false, true} {
			b.Run(fmt.Sprintf("subs=%d/batched=%v", n, batched), func(b *testing.B) {
				c := New(listen(b))
				var subs []netip.AddrPort
				for range n {
					subs = append(subs, drained(b))
				}
				pkt := make([]byte, 1200)
				b.ReportAllocs()
				for b.Loop() {
					if batched {
						c.Begin()
					}
					for _, s := range subs {
						c.WriteToAddrPort(pkt, s)
					}
					if batched {
						c.Flush()
					}
				}
			})
		}
	}
}
