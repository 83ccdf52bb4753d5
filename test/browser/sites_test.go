package browser

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	neturl "net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"hotline/internal/certs"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/relay"
	"hotline/internal/servertest"
	"hotline/internal/topology"
	"hotline/internal/trust"
)

// mediaSite is `hotline demo` running in a site of its own: the real
// binary on the embedded defaults (media on UDP and TCP 8443), over HTTPS
// with a `hotline cert init` certificate for the site's address.
type mediaSite struct {
	base  string            // https://<site address>:8080
	links map[string]string // enrolment link by the name it enrols
	d     *demo.Demo        // the same demo authorities, for native devices
	cert  *certs.Issued     // the test CA and the server's certificate
	tls   *tls.Config       // a native client's: trusts the test CA
}

// startMediaSite provisions a demo data folder and runs `hotline demo` on
// it inside site, listening on the site's address (or, with
// allInterfaces, on 0.0.0.0), port 8080, with the default media ports.
func startMediaSite(t *testing.T, site *topology.Site, allInterfaces bool) *mediaSite {
	t.Helper()
	data, certDir := t.TempDir(), t.TempDir()
	issued, err := certs.Init(certDir, []string{site.Addr.String()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(issued.CA)
	// The same authorities as the server's (it reuses what is in the
	// folder): the test enrols native devices with them.
	d, err := demo.Provision(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := netip.AddrPortFrom(site.Addr, 8080).String()
	bind := addr
	if allInterfaces {
		bind = "0.0.0.0:8080"
	}
	cmd := site.Command(ctx, topology.Binary(t), "demo", "--listen", bind, "--data", data,
		"--tls-cert", filepath.Join(certDir, certs.CertFile), "--tls-key", filepath.Join(certDir, certs.KeyFile))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = testLogWriter(t)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hotline demo in site %s: %v", site.Name, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	s := &mediaSite{base: "https://" + addr, links: map[string]string{}, d: d, cert: issued,
		tls: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	// It prints its links once it serves; read until the schedule line.
	// (On all interfaces they name the unspecified address; the test
	// reaches the server at the site's.)
	lines := bufio.NewScanner(out)
	serving := false
	for !serving && lines.Scan() {
		for _, f := range strings.Fields(lines.Text()) {
			if u, err := neturl.Parse(f); err == nil && u.Scheme == "https" && u.Path == "/enrol" {
				u.Host = addr
				s.links[u.Query().Get("name")] = u.String()
			}
		}
		serving = strings.Contains(lines.Text(), "/schedule")
	}
	if !serving {
		t.Fatalf("hotline demo ended before it served (%v)", lines.Err())
	}
	go io.Copy(io.Discard, out)
	return s
}

// blockedSite runs `hotline demo` in a site of its own (on the site's
// address, or on every interface) and blocks UDP on the link to it.
func blockedSite(t *testing.T, allInterfaces bool) (*mediaSite, *topology.Site) {
	t.Helper()
	site := topology.New(t).AddSite("srv")
	srv := startMediaSite(t, site, allInterfaces)
	site.BlockUDP(t)
	return srv, site
}

// join enrols a native device named name on the west side and joins the
// demo call with it, publishing; cfg adds the endpoint's restrictions.
func (s *mediaSite) join(t *testing.T, ctx context.Context, name string, cfg client.Config) *client.Client {
	t.Helper()
	dev, err := s.d.EnrolDevice(demo.West, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server, cfg.Line, cfg.Call, cfg.Device, cfg.Publish, cfg.Logger, cfg.TLS = s.base, demo.Line, demo.Call, dev, true, testLogger(t), s.tls
	c, err := client.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testLogWriter is the test's output until it ends.
func testLogWriter(t *testing.T) io.Writer {
	w := &guardedWriter{w: t.Output()}
	t.Cleanup(func() { w.done.Store(true) })
	return w
}

// siteBrowser launches a browser that accepts exactly the site server's
// certificate, enrols it through the link printed for name, and opens the
// demo call.
func siteBrowser(t *testing.T, s *mediaSite, name string) *browser {
	t.Helper()
	link, ok := s.links[name]
	if !ok {
		t.Fatalf("no enrolment link for %q among %v", name, s.links)
	}
	b := launch(t, "web", 1280, 720, 1, acceptingOnly(s.cert.Leaf))
	b.enrolWithLink(link)
	b.open(s.base + "/call/" + demo.Call + "?autojoin=1")
	return b
}

// TestSitesWithoutUDP (issue 9, "Media through firewalls"): the server runs
// in a site of its own on the embedded defaults; UDP is blocked on the
// link to it; a browser and a native endpoint, neither told anything about
// the firewall, receive and decrypt each other's media over TCP. The test
// asserts, and logs, the path each took.
func TestSitesWithoutUDP(t *testing.T) {
	srv, site := blockedSite(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	native := srv.join(t, ctx, "native", client.Config{})

	web := siteBrowser(t, srv, "East Principal")
	f1, f2 := web.waitVideoGrowing("native")
	n := web.waitAudio("native")
	t.Logf("web sees native: framesDecoded %d then %d; audio packetsReceived %d", f1, f2, n)
	waitNativeDecrypts(t, native, "East Principal")

	wp, ok := web.selectedPath()
	if !ok {
		t.Fatal("the page has no selected candidate pair")
	}
	np, ok := native.SelectedPath()
	if !ok {
		t.Fatal("the native endpoint has no selected candidate pair")
	}
	t.Logf("UDP blocked, browser path: %s", wp)
	t.Logf("UDP blocked, native path: %s", np)
	if !overTCP(wp) {
		t.Errorf("the browser's path %s is not over TCP", wp)
	}
	if !(np.Local.Protocol == webrtc.ICEProtocolTCP || np.RelayProtocol == "tcp" || np.RelayProtocol == "tls") {
		t.Errorf("the native endpoint's path %s is not over TCP", np)
	}
	if wp.Remote.Address != site.Addr.String() && wp.Local.CandidateType != "relay" {
		t.Errorf("the browser's remote candidate %s is not the server's site address", wp.Remote.Address)
	}

	// Both took ICE over TCP, which the server prefers; where that is
	// closed too, the relay over TCP remains. A third endpoint that may
	// use nothing but the relay gets the others' media through it, across
	// the same link.
	relayed := joinRelayOnly(t, ctx, srv)
	waitNativeDecrypts(t, relayed, "East Principal")
	waitNativeDecrypts(t, relayed, "native")
	waitNativeDecrypts(t, native, "relayed")
	web.checkClean()
}

// joinRelayOnly joins the demo call with a native endpoint that may use the
// server's relay alone (relay-only policy, and UDP networks only, since
// Pion makes active TCP candidates whatever the policy), and checks, once
// it is connected, that its path is the relay reached over TCP.
func joinRelayOnly(t *testing.T, ctx context.Context, srv *mediaSite) *client.Client {
	t.Helper()
	c := srv.join(t, ctx, "relayed", client.Config{Networks: []webrtc.NetworkType{webrtc.NetworkTypeUDP4}, RelayOnly: true})
	var p client.Path
	servertest.Eventually(t, "the relay-only endpoint to connect", func() (bool, string) {
		var ok bool
		p, ok = c.SelectedPath()
		return ok, "no selected pair"
	})
	t.Logf("UDP blocked, relay-only path: %s", p)
	if p.Local.Typ != webrtc.ICECandidateTypeRelay || p.RelayProtocol != "tcp" {
		t.Errorf("the relay-only endpoint's path %s is not the relay over TCP", p)
	}
	return c
}

// TestSiteAllInterfacesRelay: a server listening on every interface
// (0.0.0.0, as on a cloud VM) relays media too: the relay reaches the media
// socket on loopback and answers as the address the client knows it by.
// UDP is blocked on the link; a relay-only endpoint and a native endpoint
// on the defaults decrypt each other's media.
func TestSiteAllInterfacesRelay(t *testing.T) {
	srv, _ := blockedSite(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	native := srv.join(t, ctx, "native", client.Config{})
	relayed := joinRelayOnly(t, ctx, srv)
	waitNativeDecrypts(t, relayed, "native")
	waitNativeDecrypts(t, native, "relayed")
	if p, ok := native.SelectedPath(); ok {
		t.Logf("UDP blocked, native path: %s", p)
	}
}

// TestSiteRelayNotOpen: the relay of a server in its own site, used with
// the credentials of a real welcome, reaches the server's media address and
// refuses any other: here the test's own address on the link, where a
// socket listens.
func TestSiteRelayNotOpen(t *testing.T) {
	tp := topology.New(t)
	site := tp.AddSite("srv")
	srv := startMediaSite(t, site, false)
	dev, err := srv.d.EnrolDevice(demo.West, "prober")
	if err != nil {
		t.Fatal(err)
	}
	is := welcomeRelay(t, srv, dev)
	t.Logf("welcome ice_servers: %q", is.URLs)
	turnAddr := netip.AddrPortFrom(site.Addr, 8443).String()
	want := []string{"turn:" + turnAddr + "?transport=tcp", "turns:" + turnAddr + "?transport=tcp"}
	if !slices.Equal(is.URLs, want) {
		t.Fatalf("relay URLs %q, want %q (the site's TCP port 8443, TLS with the HTTPS certificate)", is.URLs, want)
	}
	media := &net.UDPAddr{IP: site.Addr.AsSlice(), Port: 8443}
	victim, err := net.ListenUDP("udp4", &net.UDPAddr{IP: site.Peer.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()

	for _, overTLS := range []bool{false, true} {
		var conn net.Conn
		if overTLS {
			// TURN over TLS with the server's HTTPS certificate.
			conn, err = tls.Dial("tcp", turnAddr, srv.tls)
		} else {
			conn, err = net.Dial("tcp", turnAddr)
		}
		if err != nil {
			t.Fatal(err)
		}
		tc, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: turnAddr, Conn: turn.NewSTUNConn(conn),
			Username: is.Username, Password: is.Credential, Realm: relay.Realm})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		if err := tc.Listen(); err != nil {
			t.Fatal(err)
		}
		relayed, err := tc.Allocate()
		if err != nil {
			t.Fatalf("allocate (TLS %v) with the welcome's credentials: %v", overTLS, err)
		}
		defer relayed.Close()
		t.Logf("TLS %v: relayed address %v", overTLS, relayed.LocalAddr())
		if _, err := relayed.WriteTo([]byte("not stun"), media); err != nil {
			t.Fatalf("relaying to the server's media address was refused: %v", err)
		}
		if _, err := relayed.WriteTo([]byte("open relay?"), victim.LocalAddr()); err == nil {
			t.Fatalf("the relay accepted %v as a peer", victim.LocalAddr())
		} else {
			t.Logf("relaying to %v refused: %v", victim.LocalAddr(), err)
		}
	}
	// The refusal is the permission's; nothing may arrive either.
	victim.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, from, err := victim.ReadFrom(make([]byte, 100)); err == nil {
		t.Fatalf("%d bytes from %v reached the victim socket", n, from)
	}
}

// welcomeRelay joins the demo call over a raw signalling socket and returns
// the relay entry of its welcome (the session stays open until the test
// ends, so the credentials stay valid).
func welcomeRelay(t *testing.T, s *mediaSite, dev *trust.Device) protocol.ICEServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(s.base, "https")+"/ws",
		&websocket.DialOptions{HTTPClient: certs.HTTPClient(s.tls, 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	read := func() any {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		msg, err := protocol.DecodeServer(data)
		if err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		return msg
	}
	ch, ok := read().(*protocol.Challenge)
	if !ok {
		t.Fatal("no challenge")
	}
	nonce, err := trust.DecodeB64(ch.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	join, _ := json.Marshal(protocol.Join{
		Type: protocol.TypeJoin, Version: protocol.Version, Line: demo.Line, Call: "probe",
		Credential: protocol.Credential{Body: dev.Credential.Body, Sig: dev.Credential.Sig},
		Proof:      trust.B64(trust.JoinProof(dev.SigPrivate(), nonce, trust.ServerName(strings.TrimPrefix(s.base, "https://"), true), demo.Line, "probe")),
		Tracks:     []protocol.TrackInfo{},
	})
	if err := ws.Write(ctx, websocket.MessageText, join); err != nil {
		t.Fatal(err)
	}
	for {
		switch m := read().(type) {
		case *protocol.Welcome:
			if len(m.ICEServers) != 1 || len(m.ICEServers[0].URLs) == 0 {
				t.Fatalf("welcome ice_servers %+v", m.ICEServers)
			}
			return m.ICEServers[0]
		case *protocol.ErrorMsg:
			t.Fatalf("join refused: %+v", m)
		}
	}
}
