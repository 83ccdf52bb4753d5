package peer

import (
	"net"
	"testing"
)

func TestCandidateFilter(t *testing.T) {
	cases := []struct {
		listen string
		ip     string
		keep   bool
	}{
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", true},
		{"127.0.0.1", "::1", true},
		{"127.0.0.1", "10.0.0.5", false},
		{"127.0.0.1", "192.168.1.20", false},
		{"127.0.0.1", "2001:db8::1", false},
		{"::1", "192.0.2.7", false},
		{"192.0.2.7", "192.0.2.7", true},
		{"192.0.2.7", "192.0.2.8", false},
		{"192.0.2.7", "127.0.0.1", false},
	}
	for _, c := range cases {
		f := candidateFilter(net.ParseIP(c.listen))
		if f == nil {
			t.Fatalf("listen %s: no filter", c.listen)
		}
		if got := f(net.ParseIP(c.ip)); got != c.keep {
			t.Errorf("listen %s: candidate %s kept=%v, want %v", c.listen, c.ip, got, c.keep)
		}
	}
	if candidateFilter(net.IPv4zero) != nil || candidateFilter(net.IPv6unspecified) != nil {
		t.Error("all-interfaces listener is filtered")
	}
}

func TestQueueBound(t *testing.T) {
	q := newQueue()
	for i := 0; i < maxQueued+10; i++ {
		q.push(i)
	}
	items, overflowed := q.drain()
	if len(items) != maxQueued || !overflowed {
		t.Fatalf("%d items, overflowed %v", len(items), overflowed)
	}
	select {
	case <-q.notify:
	default:
		t.Fatal("no notification")
	}
}
