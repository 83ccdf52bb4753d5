package portmux

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// Real first bytes of each protocol: a TLS 1.2+ ClientHello record header,
// a STUN Allocate request (RFC 8656) and the same framed by RFC 4571.
var (
	allocate = []byte{0x00, 0x03, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	framed   = append([]byte{0x00, byte(len(allocate))}, allocate...)
	hello    = []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		head []byte
		want Kind
	}{
		{allocate, TURN}, {framed, ICE}, {hello, TLS},
		{[]byte("GET / HTTP/1.1\r\n"), Unknown}, {[]byte{0x00}, Unknown}, {nil, Unknown},
		// RTP or DTLS bytes have no business on this port.
		{[]byte{0x80, 0x60, 0, 1, 0x21, 0x12, 0xA4, 0x42, 0, 0}, Unknown},
	} {
		if got := Classify(c.head); got != c.want {
			t.Errorf("Classify(% x) = %v, want %v", c.head, got, c.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range [][]byte{allocate, framed, hello, []byte("GET /")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		k := Classify(head)
		if k < Unknown || k >= numKinds {
			t.Fatalf("kind %d", k)
		}
		// A longer read never changes the verdict on the first 10 bytes.
		if len(head) > peekBytes && Classify(head[:peekBytes]) != k {
			t.Fatalf("verdict depends on bytes past %d", peekBytes)
		}
	})
}

// TestMuxSorts: each kind of connection reaches its own listener with its
// first bytes intact; a kind nobody takes, and junk, are closed.
func TestMuxSorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, nil)
	defer m.Close()
	ice, turn := m.Listener(ICE), m.Listener(TURN)
	for _, c := range []struct {
		first []byte
		ln    net.Listener
	}{{framed, ice}, {allocate, turn}} {
		conn, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write(c.first); err != nil {
			t.Fatal(err)
		}
		got, err := c.ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(c.first))
		got.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(got, buf); err != nil || !bytes.Equal(buf, c.first) {
			t.Fatalf("accepted conn reads % x, %v; want % x", buf, err, c.first)
		}
		got.Close()
	}
	for _, first := range [][]byte{hello, []byte("GET / HTTP/1.1\r\n")} {
		conn, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(first)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Fatalf("% x: connection kept open", first[:4])
		}
		conn.Close()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ice.Accept(); err != ErrClosed {
		t.Fatalf("Accept after Close: %v", err)
	}
}
