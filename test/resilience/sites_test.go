package resilience

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/load"
	"hotline/internal/protocol"
	"hotline/internal/servertest"
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

func (s *siteServer) attend(t *testing.T, call, name string, frames func(client.Frame)) *client.Attendee {
	t.Helper()
	dev, err := s.d.EnrolDevice(demo.East, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{Server: s.url, Line: demo.Line, Call: call, Device: dev, Publish: true, Logger: testLogger().With("endpoint", name), Frames: frames}
	a := client.Attend(context.Background(), cfg, client.Backoff{})
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// pairAcross starts a site named name with the server in it, and Alice and
// Bob in the test's namespace in a call of that name, decrypting each other.
func pairAcross(t *testing.T, name string, bobFrames func(client.Frame)) (*topology.Site, *client.Attendee, *client.Attendee) {
	t.Helper()
	site := topology.New(t).AddSite(name)
	srv := startInSite(t, site)
	alice := srv.attend(t, name, "Alice", nil)
	bob := srv.attend(t, name, "Bob", bobFrames)
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

// sentBetween counts the frames of one kind a receiver in this process
// decrypted whose RTP timestamps say they were sent within [from, to):
// every endpoint of the process stamps its frames from one clock
// (client.Epoch), so each frame is counted in the window it was sent in,
// however late it arrives.
type sentBetween struct {
	mu       sync.Mutex
	from, to time.Time
	video    map[uint32]bool // RTP timestamps of Alice's video frames in the window
	audio    map[uint32]bool
}

func (w *sentBetween) frame(f client.Frame) {
	if f.Track.Name != "Alice" || f.ClockRate == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.from.IsZero() {
		return
	}
	lo := uint32(ticks(w.from, f.ClockRate))
	if f.Timestamp-lo >= uint32(ticks(w.to, f.ClockRate))-lo { // modulo 2^32
		return
	}
	switch f.Track.Kind {
	case protocol.KindVideo:
		w.video[f.Timestamp] = true
	case protocol.KindAudio:
		w.audio[f.Timestamp] = true
	}
}

func (w *sentBetween) counts() (video, audio uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return uint64(len(w.video)), uint64(len(w.audio))
}

// ticks is the RTP clock reading of time t (client.Epoch's clock).
func ticks(t time.Time, rate uint32) uint64 {
	d := t.Sub(client.Epoch())
	return uint64(d/time.Second)*uint64(rate) + uint64(d%time.Second)*uint64(rate)/uint64(time.Second)
}

// TestTenPercentLoss: the server in one site, two native endpoints in the
// test's namespace, 10 % of UDP dropped at random each way on the link
// between them, so that every packet crosses two lossy hops (sender →
// server, server → receiver). Of the video frames sent in a 10 s window the
// receiver decrypts at least 95 %: NACKs between every hop (the server
// asks the sender, the receiver asks the server's cache) bring lost packets
// back, and the receiver reassembles frames in any order. Frames are
// counted by the time they were sent (their RTP timestamps), so how far
// behind a loaded machine runs does not move them in or out of the window.
// The audio figure is reported: Opus carries in-band FEC for the decoder,
// and is not retransmitted.
func TestTenPercentLoss(t *testing.T) {
	tier.Integration(t)
	win := &sentBetween{video: map[uint32]bool{}, audio: map[uint32]bool{}}
	site, alice, bob := pairAcross(t, "lossy", win.frame)

	site.Loss(t, 10)
	time.Sleep(2 * time.Second) // frames sent before the loss are out of the way
	a := alice.Client()
	sv0, sa0 := sentFrames(a, protocol.KindVideo), sentFrames(a, protocol.KindAudio)
	win.mu.Lock()
	win.from, win.to = time.Now(), time.Now().Add(10*time.Second)
	win.mu.Unlock()
	time.Sleep(10 * time.Second)
	sv, sa := sentFrames(a, protocol.KindVideo)-sv0, sentFrames(a, protocol.KindAudio)-sa0
	if alice.Client() != a {
		t.Fatal("Alice's session was lost under loss")
	}
	if sv < 50 {
		t.Fatalf("only %d video frames sent in the window: nothing to measure", sv)
	}
	// Retransmitted frames arrive late; wait for them (or for the
	// deadline, which only fails the test if they never come).
	var dv, da uint64
	servertest.Eventually(t, "95 % of the window's video frames decrypted", func() (bool, string) {
		dv, da = win.counts()
		return float64(dv) >= 0.95*float64(sv), fmt.Sprintf("%d of %d video frames", dv, sv)
	})
	if bob.Client() == nil {
		t.Fatal("Bob's session was lost under loss")
	}
	var lost, nacked uint64
	for _, ts := range bob.Client().Stats().Tracks {
		if ts.From == "Alice" && ts.Kind == protocol.KindVideo {
			lost += ts.FramesLost
			nacked += ts.Late
		}
	}
	t.Logf("10%% loss each way, two lossy hops, 10 s: video %d of %d frames decrypted (%.1f %%), audio %d of %d (%.1f %%); video frames given up %d, late (retransmitted) packets %d",
		dv, sv, 100*float64(dv)/float64(sv), da, sa, 100*float64(da)/float64(sa), lost, nacked)
}

// TestNetworkChangeAcrossSites: the server in one site; the endpoints' side
// of the link changes address (a laptop moving to another network): their
// media path and their signalling sockets both die. Each endpoint notices
// the path go down, finds its socket dead too, resumes its session over a
// new socket from the new address, and ICE restarts: media flows again with
// the same participant ids, the same keys, and no rejoin.
func TestNetworkChangeAcrossSites(t *testing.T) {
	tier.Integration(t)
	site, alice, bob := pairAcross(t, "roam", nil)
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
