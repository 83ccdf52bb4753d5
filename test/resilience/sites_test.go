package resilience

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/load"
	"hotline/internal/protocol"
	"hotline/internal/tier"
	"hotline/internal/topology"
)

// siteServer is `hotline demo` (the real binary) inside a site's namespace,
// on the site's address, and the demo line it serves.
type siteServer struct {
	p   *load.Process
	url string
	d   *demo.Demo
}

// startInSite provisions the demo line in a fresh data folder and runs the
// server in site. Plain HTTP on the site's address needs --insecure-http;
// the native endpoints here do not need TLS to be what they test.
func startInSite(t *testing.T, site *topology.Site) *siteServer {
	t.Helper()
	dir := t.TempDir()
	d, err := demo.Provision(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// `ip netns exec` execs the binary: the process is the server itself.
	p, err := load.StartProcess(context.Background(), "ip", []string{"netns", "exec", site.Name, topology.Binary(t), "demo",
		"--listen", net.JoinHostPort(site.Addr.String(), "0"), "--udp-port", "0", "--data", dir, "--insecure-http"})
	if err != nil {
		t.Fatalf("hotline demo in site %s: %v", site.Name, err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return &siteServer{p: p, url: p.URL(), d: d}
}

func (s *siteServer) attend(t *testing.T, call, name string) *client.Attendee {
	t.Helper()
	dev, err := s.d.EnrolDevice(demo.East, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{Server: s.url, Line: demo.Line, Call: call, Device: dev, Publish: true, Logger: testLogger().With("endpoint", name)}
	a := client.Attend(context.Background(), cfg, client.Backoff{})
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// pairAcross starts a site named name with the server in it, and Alice and
// Bob in the test's namespace in a call of that name, decrypting each other.
func pairAcross(t *testing.T, name string) (*topology.Site, *client.Attendee, *client.Attendee) {
	t.Helper()
	site := topology.New(t).AddSite(name)
	srv := startInSite(t, site)
	alice := srv.attend(t, name, "Alice")
	bob := srv.attend(t, name, "Bob")
	eventually(t, "Bob decrypts Alice", func() error { return decrypting(bob.Client(), "Alice", 20) })
	eventually(t, "Alice decrypts Bob", func() error { return decrypting(alice.Client(), "Bob", 20) })
	return site, alice, bob
}

// sentFrames is what c has sent of one kind so far.
func sentFrames(c *client.Client, kind string) uint64 {
	var n uint64
	for _, s := range c.Stats().Sent {
		if s.Kind == kind {
			n += s.Frames
		}
	}
	return n
}

// decryptedOf sums the frames of one kind c decrypted from the publisher named from.
func decryptedOf(c *client.Client, from, kind string) uint64 {
	var n uint64
	for _, ts := range c.Stats().Tracks {
		if ts.From == from && ts.Kind == kind {
			n += ts.Decrypted
		}
	}
	return n
}

// TestTenPercentLoss: the server in one site, two native endpoints in the
// test's namespace, 10 % of UDP dropped at random each way on the link
// between them, so that every packet crosses two lossy hops (sender →
// server, server → receiver). Over a 10 s window the receiver decrypts at
// least 95 % of the video frames sent: NACKs between every hop (the server
// asks the sender, the receiver asks the server's cache) bring lost packets
// back, and the receiver reassembles frames in any order. The audio figure
// is reported: Opus carries in-band FEC for the decoder, and is not
// retransmitted.
func TestTenPercentLoss(t *testing.T) {
	tier.Integration(t)
	site, alice, bob := pairAcross(t, "lossy")

	site.Loss(t, 10)
	time.Sleep(2 * time.Second) // frames sent before the loss are out of the way
	// Each count of decrypted frames is taken some seconds after the count
	// of sent frames it is compared with: a frame is decrypted by then
	// (retransmissions included, on a loaded machine too) or lost.
	const lag = 3 * time.Second
	a, b := alice.Client(), bob.Client()
	sv0, sa0 := sentFrames(a, protocol.KindVideo), sentFrames(a, protocol.KindAudio)
	time.Sleep(lag)
	dv0, da0 := decryptedOf(b, "Alice", protocol.KindVideo), decryptedOf(b, "Alice", protocol.KindAudio)
	time.Sleep(10*time.Second - lag)
	sv1, sa1 := sentFrames(a, protocol.KindVideo), sentFrames(a, protocol.KindAudio)
	time.Sleep(lag)
	dv1, da1 := decryptedOf(b, "Alice", protocol.KindVideo), decryptedOf(b, "Alice", protocol.KindAudio)
	if alice.Client() != a || bob.Client() != b {
		t.Fatal("a session was lost under loss")
	}
	video := float64(dv1-dv0) / float64(sv1-sv0)
	audio := float64(da1-da0) / float64(sa1-sa0)
	var lost, nacked uint64
	for _, ts := range b.Stats().Tracks {
		if ts.From == "Alice" && ts.Kind == protocol.KindVideo {
			lost += ts.FramesLost
			nacked += ts.Late
		}
	}
	t.Logf("10%% loss each way, two lossy hops, 10 s: video %d of %d frames decrypted (%.1f %%), audio %d of %d (%.1f %%); video frames given up %d, late (retransmitted) packets %d",
		dv1-dv0, sv1-sv0, 100*video, da1-da0, sa1-sa0, 100*audio, lost, nacked)
	if sv1-sv0 < 50 {
		t.Fatalf("only %d video frames sent in the window: nothing to measure", sv1-sv0)
	}
	if video < 0.95 {
		t.Errorf("video: %.1f %% of the frames sent were decrypted, want at least 95 %%", 100*video)
	}
}

// TestNetworkChangeAcrossSites: the server in one site; the endpoints' side
// of the link changes address (a laptop moving to another network): their
// media path and their signalling sockets both die. Each endpoint notices
// the path go down, finds its socket dead too, resumes its session over a
// new socket from the new address, and ICE restarts: media flows again with
// the same participant ids, the same keys, and no rejoin.
func TestNetworkChangeAcrossSites(t *testing.T) {
	tier.Integration(t)
	site, alice, bob := pairAcross(t, "roam")
	a, b := alice.Client(), bob.Client()
	ida, idb := a.ID(), b.ID()

	moved := time.Now()
	next := site.MovePeer(t)
	va, vb := videoDecrypted(a, "Bob"), videoDecrypted(b, "Alice")
	eventually(t, "media both ways from the new address", func() error {
		if n := videoDecrypted(a, "Bob"); n < va+30 {
			return fmt.Errorf("Alice decrypted %d more frames from Bob (restarts %d, resumes %d)", n-va, a.ICERestarts(), a.Resumes())
		}
		if n := videoDecrypted(b, "Alice"); n < vb+30 {
			return fmt.Errorf("Bob decrypted %d more frames from Alice (restarts %d, resumes %d)", n-vb, b.ICERestarts(), b.Resumes())
		}
		return nil
	})
	la, _ := a.SelectedPair()
	t.Logf("media back %v after the move to %s; Alice now on %s; ICE restarts asked: Alice %d, Bob %d; sessions resumed: Alice %d, Bob %d",
		time.Since(moved).Round(time.Millisecond), next, la, a.ICERestarts(), b.ICERestarts(), a.Resumes(), b.Resumes())
	if host, _, _ := net.SplitHostPort(la); host != next.String() {
		t.Errorf("Alice's media leave from %s, not the new address %s", la, next)
	}
	if alice.Client() != a || bob.Client() != b || a.ID() != ida || b.ID() != idb || alice.Joins() != 1 || bob.Joins() != 1 {
		t.Errorf("a rejoin happened (joins: Alice %d, Bob %d)", alice.Joins(), bob.Joins())
	}
	if a.ICERestarts() == 0 || b.ICERestarts() == 0 {
		t.Error("no ICE restart was asked for")
	}
}
