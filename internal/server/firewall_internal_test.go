package server

import (
	"net"
	"testing"
)

func TestTurnHosts(t *testing.T) {
	lo, any, private := net.IPv4(127, 0, 0, 1), net.IPv4zero, net.IPv4(10, 0, 0, 5)
	for _, c := range []struct {
		public     string
		listen     net.IP
		host       string
		addr, name string
	}{
		{"", lo, "127.0.0.1:8080", "127.0.0.1", "127.0.0.1"},
		{"", lo, "localhost:8080", "127.0.0.1", "localhost"},
		{"", private, "hotline.example", "10.0.0.5", "hotline.example"},
		{"203.0.113.7", private, "hotline.example:443", "203.0.113.7", "hotline.example"},
		{"", any, "hotline.example:443", "hotline.example", "hotline.example"},
		{"", nil, "[2001:db8::1]:443", "2001:db8::1", "2001:db8::1"},
		// A Host header unfit for a URL names nothing.
		{"", any, "evil.example/x?y", "", ""},
		{"", any, "a b", "", ""},
		{"", private, "", "10.0.0.5", ""},
	} {
		addr, name := turnHosts(c.public, c.listen, c.host)
		if addr != c.addr || name != c.name {
			t.Errorf("turnHosts(%q, %v, %q) = %q, %q; want %q, %q", c.public, c.listen, c.host, addr, name, c.addr, c.name)
		}
	}
}
