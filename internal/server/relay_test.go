package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/relay"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/testcert"
	"hotline/internal/tier"
)

// welcomeOf joins the demo call over a raw socket and returns its welcome.
func welcomeOf(t *testing.T, l *e2eeLine) (*wsSession, *protocol.Welcome) {
	t.Helper()
	dev := l.device(demo.East, "Relayed")
	s := dialRaw(t, l)
	s.send(joinMsg(dev, *dev.Credential, s.nonce, demo.Line, "relay"))
	for {
		switch m := s.read().(type) {
		case *protocol.Welcome:
			return s, m
		case *protocol.ErrorMsg:
			t.Fatalf("join refused: %+v", m)
		}
	}
}

// turnClient connects to the TURN server at addr (over TLS when pool is
// set) with the welcome's credentials.
func turnClient(t *testing.T, addr string, pool *x509.CertPool, is protocol.ICEServer) *turn.Client {
	t.Helper()
	var conn net.Conn
	var err error
	if pool != nil {
		conn, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	} else {
		conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: addr, Conn: turn.NewSTUNConn(conn),
		Username: is.Username, Password: is.Credential, Realm: relay.Realm,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestWelcomeRelay: the welcome names the server's own relay on its TCP
// port, over TCP and (with a certificate) TLS; its credentials allocate
// there, relay to the media socket and nowhere else, and stop working when
// the session ends.
func TestWelcomeRelay(t *testing.T) {
	tier.Integration(t)
	cert, pool := testcert.New(t)
	srv := servertest.Start(t, server.Config{
		TURNCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
	}, servertest.Logger())
	l := &e2eeLine{t: t, srv: srv}

	s, w := welcomeOf(t, l)
	if len(w.ICEServers) != 1 {
		t.Fatalf("welcome ice_servers %+v, want the server's relay", w.ICEServers)
	}
	is := w.ICEServers[0]
	tcpAddr := srv.MediaTCPAddr().String()
	if ip := srv.MediaTCPAddr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Fatalf("a loopback server's TCP media port listens on %v", ip)
	}
	want := []string{"turn:" + tcpAddr + "?transport=tcp", "turns:" + tcpAddr + "?transport=tcp"}
	if !slices.Equal(is.URLs, want) {
		t.Fatalf("relay URLs %q, want %q", is.URLs, want)
	}
	exp, _, _ := strings.Cut(is.Username, ":")
	if sec, err := strconv.ParseInt(exp, 10, 64); err != nil || time.Unix(sec, 0).After(time.Now().Add(relay.DefaultTTL)) {
		t.Fatalf("username %q: expiry not within %v", is.Username, relay.DefaultTTL)
	}
	t.Logf("welcome ice_servers: %q, username %q", is.URLs, is.Username)

	media := srv.MediaAddr().(*net.UDPAddr)
	for _, overTLS := range []bool{false, true} {
		p := pool
		if !overTLS {
			p = nil
		}
		relayed, err := turnClient(t, tcpAddr, p, is).Allocate()
		if err != nil {
			t.Fatalf("allocate (tls %v) on the shared TCP port: %v", overTLS, err)
		}
		// The media socket: a permission is granted (a STUN packet that
		// the media mux ignores is enough to see the write accepted).
		if _, err := relayed.WriteTo([]byte("not stun"), media); err != nil {
			t.Fatalf("relay to the media socket refused: %v", err)
		}
		// A listening socket elsewhere on loopback: refused.
		other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := relayed.WriteTo([]byte("x"), other.LocalAddr()); err == nil {
			t.Fatalf("the relay accepted a permission for %v", other.LocalAddr())
		}
		relayed.Close()
	}

	// The session ends: its credentials no longer allocate.
	s.c.CloseNow()
	servertest.Eventually(t, "credentials revoked at the session's end", func() error {
		relayed, err := turnClient(t, tcpAddr, nil, is).Allocate()
		if err == nil {
			relayed.Close()
			return errors.New("still allocating")
		}
		return nil
	})
}

// TestTURNPort: --turn-port adds the relay on a port of its own, over UDP
// and TCP, listed first in the welcome; the relay over UDP allocates too.
func TestTURNPort(t *testing.T) {
	tier.Integration(t)
	// A port that was free a moment ago (the server needs a number).
	probe, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	srv := servertest.Start(t, server.Config{TURNPort: port}, servertest.Logger())
	_, w := welcomeOf(t, &e2eeLine{t: t, srv: srv})
	is := w.ICEServers[0]
	turnAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	want := []string{"turn:" + turnAddr + "?transport=tcp", "turn:" + srv.MediaTCPAddr().String() + "?transport=tcp", "turn:" + turnAddr + "?transport=udp"}
	if !slices.Equal(is.URLs, want) {
		t.Fatalf("relay URLs %q, want %q", is.URLs, want)
	}
	// TURN over TCP on the dedicated port.
	if relayed, err := turnClient(t, turnAddr, nil, is).Allocate(); err != nil {
		t.Fatalf("allocate over TCP on the TURN port: %v", err)
	} else {
		relayed.Close()
	}
	// TURN over UDP on the same port number.
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: turnAddr, Conn: conn, Username: is.Username, Password: is.Credential, Realm: relay.Realm})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relayed, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate over UDP: %v", err)
	}
	defer relayed.Close()
	if _, err := relayed.WriteTo([]byte("not stun"), srv.MediaAddr()); err != nil {
		t.Fatalf("relay over UDP to the media socket: %v", err)
	}
}
