package relay

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"hotline/internal/testcert"
)

// These tests run a real TURN server on loopback and drive it with Pion's
// TURN client, over TCP and over TLS (run them through scripts/test.sh).

// wait bounds every read: generous, never a measure.
const wait = 10 * time.Second

type fixture struct {
	relay *Relay
	media *net.UDPConn // plays the server's media socket
	other *net.UDPConn // another port on the same IP: must stay unreachable
	tcp   net.Listener
	tls   net.Listener
	pool  *x509.CertPool
	now   atomic.Int64 // unix seconds; the relay's clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	f.now.Store(time.Now().Unix())
	f.media = listenUDP(t)
	f.other = listenUDP(t)
	var err error
	if f.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	cert, pool := testcert.New(t)
	f.pool = pool
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.tls = tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	f.relay, err = Start(Config{
		Media: f.media.LocalAddr().(*net.UDPAddr),
		TCP:   []net.Listener{f.tcp},
		TLS:   []net.Listener{f.tls},
		Now:   func() time.Time { return time.Unix(f.now.Load(), 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.relay.Close() })
	return f
}

func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dial connects a TURN client over TCP (or TLS) with the given credentials.
func (f *fixture) dial(t *testing.T, overTLS bool, user, pass string) *turn.Client {
	t.Helper()
	var conn net.Conn
	var err error
	if overTLS {
		conn, err = tls.Dial("tcp", f.tls.Addr().String(), &tls.Config{RootCAs: f.pool, ServerName: "127.0.0.1"})
	} else {
		conn, err = net.Dial("tcp", f.tcp.Addr().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: conn.RemoteAddr().String(),
		Conn:           turn.NewSTUNConn(conn),
		Username:       user, Password: pass, Realm: Realm,
		LoggerFactory: pionLogs{Log: testLog(t)},
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

// relayToMedia checks a round trip client → relay → media → relay → client.
func (f *fixture) relayToMedia(t *testing.T, relayed net.PacketConn, msg string) {
	t.Helper()
	if _, err := relayed.WriteTo([]byte(msg), f.media.LocalAddr()); err != nil {
		t.Fatalf("relay to media: %v", err)
	}
	buf := make([]byte, 1500)
	f.media.SetReadDeadline(time.Now().Add(wait))
	n, from, err := f.media.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != msg {
		t.Fatalf("media got %q, %v; want %q", buf[:n], err, msg)
	}
	if _, err := f.media.WriteToUDP([]byte("re:"+msg), from); err != nil {
		t.Fatal(err)
	}
	relayed.SetReadDeadline(time.Now().Add(wait))
	n, src, err := relayed.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "re:"+msg {
		t.Fatalf("client got %q from %v, %v; want the media's answer", buf[:n], src, err)
	}
}

func TestRelayCarriesMediaOverTCPAndTLS(t *testing.T) {
	f := newFixture(t)
	for _, overTLS := range []bool{false, true} {
		creds, revoke := f.relay.Issue()
		defer revoke()
		c := f.dial(t, overTLS, creds.Username, creds.Password)
		relayed, err := c.Allocate()
		if err != nil {
			t.Fatalf("allocate (tls %v): %v", overTLS, err)
		}
		t.Logf("tls %v: relayed address %v", overTLS, relayed.LocalAddr())
		f.relayToMedia(t, relayed, "hello")
		relayed.Close()
	}
}

// TestRelayIsNotOpen: the relay reaches the media socket and nothing else,
// neither another IP (the permission is refused) nor another port on the
// media IP (the packet is dropped), and it passes on nothing that another
// socket sends to the relayed address.
func TestRelayIsNotOpen(t *testing.T) {
	f := newFixture(t)
	creds, revoke := f.relay.Issue()
	defer revoke()
	relayed, err := f.dial(t, false, creds.Username, creds.Password).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relayed.Close()

	// Another IP: Pion's client asks for a permission first; refused (403).
	elsewhere := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: f.media.LocalAddr().(*net.UDPAddr).Port}
	if _, err := relayed.WriteTo([]byte("x"), elsewhere); err == nil {
		t.Fatalf("relaying to %v was accepted", elsewhere)
	} else {
		t.Logf("relay to %v refused: %v", elsewhere, err)
	}
	if f.relay.permitted(nil, elsewhere.IP) || !f.relay.permitted(nil, net.IPv4(127, 0, 0, 1)) {
		t.Fatal("permission handler disagrees with the media IP")
	}

	// Another port on the media IP: the permission (per IP) exists, but
	// the packet must not leave. Send it, then a marker to the media; once
	// the marker has arrived, the earlier packet would have too.
	if _, err := relayed.WriteTo([]byte("leak"), f.other.LocalAddr()); err != nil {
		t.Logf("write to another port: %v", err)
	}
	f.relayToMedia(t, relayed, "marker")
	f.other.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _, err := f.other.ReadFromUDP(make([]byte, 100)); err == nil {
		t.Fatalf("another port on the media IP received %d bytes through the relay", n)
	}

	// Inbound: a foreign socket writing to the relayed address is not
	// passed on; the media's next packet is the first the client sees.
	if _, err := f.other.WriteTo([]byte("intruder"), relayed.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	f.relayToMedia(t, relayed, "after")

	// The relay conn itself refuses a foreign destination.
	rc := &relayConn{r: f.relay}
	if _, err := rc.WriteTo([]byte("x"), f.other.LocalAddr()); !errors.Is(err, ErrNotMedia) {
		t.Fatalf("relayConn wrote to another port: %v", err)
	}
}

// TestRelayRefusesBadCredentials: a forged password, a credential of an
// ended session and an expired one get no allocation.
func TestRelayRefusesBadCredentials(t *testing.T) {
	f := newFixture(t)
	good, revoke := f.relay.Issue()
	defer revoke()

	forged := good.Password[:len(good.Password)-2] + "AA"
	if forged == good.Password {
		forged = "AA" + good.Password[2:]
	}
	if _, err := f.dial(t, false, good.Username, forged).Allocate(); err == nil {
		t.Fatal("forged password allocated")
	}
	// A username this relay never issued, with a password computed under
	// another secret.
	other := &Relay{secret: bytes.Repeat([]byte{7}, 32)}
	if _, err := f.dial(t, false, good.Username, other.password(good.Username)).Allocate(); err == nil {
		t.Fatal("password under another secret allocated")
	}

	ended, revokeEnded := f.relay.Issue()
	revokeEnded()
	if _, err := f.dial(t, false, ended.Username, ended.Password).Allocate(); err == nil {
		t.Fatal("credential of an ended session allocated")
	}

	old, revokeOld := f.relay.Issue()
	defer revokeOld()
	f.now.Add(int64((DefaultTTL + time.Minute) / time.Second))
	if _, err := f.dial(t, false, old.Username, old.Password).Allocate(); err == nil {
		t.Fatal("expired credential allocated")
	}
	f.now.Add(-int64((DefaultTTL + time.Minute) / time.Second))
	if _, err := f.dial(t, false, good.Username, good.Password).Allocate(); err != nil {
		t.Fatalf("the good credential is refused: %v", err)
	}
}

// TestRevokeSilencesRelays: when its session ends, a credential's relay
// sockets stop relaying at once (not when their allocations expire).
func TestRevokeSilencesRelays(t *testing.T) {
	f := newFixture(t)
	creds, revoke := f.relay.Issue()
	relayed, err := f.dial(t, false, creds.Username, creds.Password).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relayed.Close()
	f.relayToMedia(t, relayed, "before")
	_, token, _ := strings.Cut(creds.Username, ":")
	f.relay.mu.Lock()
	var socks []*relayConn
	for rc := range f.relay.allocs[token] {
		socks = append(socks, rc)
	}
	f.relay.mu.Unlock()
	if len(socks) != 1 {
		t.Fatalf("%d relay sockets for one allocation", len(socks))
	}
	revoke()
	if _, err := socks[0].WriteTo([]byte("after"), f.media.LocalAddr()); !errors.Is(err, ErrRevoked) {
		t.Fatalf("a revoked relay socket wrote to the media: %v", err)
	}
}

func TestIssueFormat(t *testing.T) {
	r := &Relay{cfg: Config{TTL: time.Hour, Now: time.Now}, secret: make([]byte, 32), live: map[string]bool{}, allocs: map[string]map[*relayConn]struct{}{}}
	c, revoke := r.Issue()
	defer revoke()
	exp, token, ok := bytes.Cut([]byte(c.Username), []byte(":"))
	if !ok || len(token) != 24 || len(exp) < 10 {
		t.Fatalf("username %q is not expiry:token", c.Username)
	}
	if c.Password != r.password(c.Username) || time.Until(c.Expires) > time.Hour {
		t.Fatalf("credentials %+v", c)
	}
}
