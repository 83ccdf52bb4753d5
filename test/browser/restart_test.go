package browser

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/load"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/store"
	"hotline/internal/tier"
	"hotline/internal/topology"
)

// serverChildEnv makes the test binary play a hotline server (see TestMain):
// "LISTEN|DATADIR". A child process can be killed with SIGKILL, as a crash
// would end a real server, without ending the test.
const serverChildEnv = "HOTLINE_TEST_SERVER_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(serverChildEnv); spec != "" {
		serveChild(spec)
		return
	}
	os.Exit(m.Run())
}

// serveChild runs the demo server as `hotline demo` would, prints its URL
// on the first line (what load.StartProcess waits for), and serves until
// SIGTERM or SIGKILL.
func serveChild(spec string) {
	listen, dir, _ := strings.Cut(spec, "|")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, _, err := server.StartDemo(context.Background(), server.Config{Listen: listen, DataDir: dir}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("test server serving on %s\n", srv.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// startChild starts the server child on listen with the data folder dir.
func startChild(t *testing.T, listen, dir string) *load.Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(serverChildEnv, listen+"|"+dir)
	p, err := load.StartProcess(context.Background(), exe, []string{"-test.run=^$"})
	if err != nil {
		t.Fatalf("server child: %v", err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

// freeAddr returns a loopback TCP address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestBackAfterServerKill: a booked call with a browser and two native
// endpoints; the server is killed with SIGKILL mid-call and started again
// on the same data folder. Every participant rejoins by itself and decodes
// (browser) or decrypts (native) the others again; the test logs how long
// after the new server accepted connections each was back. The booked call
// is still live, and what was committed before the kill is still there.
func TestBackAfterServerKill(t *testing.T) {
	tier.Browser(t)
	ctx := context.Background()
	dir := t.TempDir()
	d, err := demo.Provision(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := booking.New(st)
	east := booking.Caller{Line: demo.Line, Side: demo.East, Name: "East Principal", Roles: []role.Role{role.Principal}}
	west := booking.Caller{Line: demo.Line, Side: demo.West, Name: "West Principal", Roles: []role.Role{role.Principal}}
	booked, _, err := svc.Request(ctx, east, api.Request{Line: demo.Line, Kind: schedule.Video, When: "now", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, west, booked.ID, schedule.EventAccept, api.Transition{}); err != nil {
		t.Fatal(err)
	}
	link, err := demo.AddLink(ctx, st, demo.East, "web", []role.Role{role.Principal})
	if err != nil {
		t.Fatal(err)
	}

	listen := freeAddr(t)
	p := startChild(t, listen, dir)
	base := p.URL()

	web := newBrowser(t, "web", 1280, 720)
	web.enrolWith(link.URL(base))
	web.open(base + "/call/" + booked.ID + "?autojoin=1")

	natives := map[string]*client.Attendee{}
	for _, name := range []string{"north", "south"} {
		dev, err := d.EnrolDevice(demo.West, name)
		if err != nil {
			t.Fatal(err)
		}
		a := client.Attend(ctx, client.Config{Server: base, Line: demo.Line, Call: booked.ID, Device: dev, Publish: true}, client.Backoff{})
		t.Cleanup(func() { _ = a.Close() })
		natives[name] = a
	}
	everyone := []string{"web", "north", "south"}
	web.waitVideoGrowing("north")
	web.waitVideoGrowing("south")
	for name, a := range natives {
		servertest.Eventually(t, name+" decrypts the others", func() (bool, string) { return nativeBack(a, name, everyone) })
	}
	if c, err := svc.Call(ctx, booked.ID); err != nil || c.State != schedule.StateLive {
		t.Fatalf("booked call before the kill: %+v, %v", c.State, err)
	}
	checkOpusFEC(t, web)
	// Committed just before the kill: it must survive it.
	last, _, err := svc.Request(ctx, east, api.Request{Line: demo.Line, Kind: schedule.Phone, When: "now", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	old := map[string]*client.Client{}
	for name, a := range natives {
		old[name] = a.Client()
	}
	p.Kill()
	killed := time.Now()
	// Restarted at once, as a supervisor would: each participant first
	// tries to resume its session, which the new server does not know, and
	// then joins afresh.
	p2 := startChild(t, listen, dir)
	up := time.Now()
	t.Logf("server down for %v (killed, restarted, listening)", up.Sub(killed).Round(time.Millisecond))

	back := map[string]time.Duration{}
	servertest.Eventually(t, "everyone back in the call and decoding", func() (bool, string) {
		var missing []string
		for name, a := range natives {
			if _, ok := back[name]; ok {
				continue
			}
			if a.Client() == old[name] {
				missing = append(missing, name+": still in the old session")
				continue
			}
			if ok, why := nativeBack(a, name, everyone); ok {
				back[name] = time.Since(up)
			} else {
				missing = append(missing, why)
			}
		}
		if _, ok := back["web"]; !ok {
			if ok, why := webBack(web); ok {
				back["web"] = time.Since(up)
			} else {
				missing = append(missing, why)
			}
		}
		return len(missing) == 0, strings.Join(missing, "; ")
	})
	var worst time.Duration
	for name, d := range back {
		t.Logf("%s back in the call and decoding %v after the server listened again", name, d.Round(time.Millisecond))
		worst = max(worst, d)
	}
	t.Logf("RECOVERY after kill -9: everyone decoding %v after the restarted server accepted connections", worst.Round(time.Millisecond))
	web.waitVideoGrowingBy("north", 10)
	web.waitVideoGrowingBy("south", 10)

	// The booked call is still live, the booking made just before the kill
	// is there, and the new server serves from the same data (p2's URL is
	// the same address).
	if p2.URL() != base {
		t.Errorf("restarted server at %s, was %s", p2.URL(), base)
	}
	if c, err := svc.Call(ctx, booked.ID); err != nil || c.State != schedule.StateLive {
		t.Errorf("booked call after the restart: %v, %v; want live", c.State, err)
	}
	if _, err := svc.Call(ctx, last.ID); err != nil {
		t.Errorf("the booking committed before the kill is gone: %v", err)
	}
	for name, a := range natives {
		if a.Joins() != 2 {
			t.Errorf("%s joined %d times, want 2", name, a.Joins())
		}
	}
	// While the server was down, the page's attempts to reach it failed,
	// and Chromium logs each: those, and only those, are expected.
	web.checkConsoleExcept("WebSocket connection to '" + strings.Replace(base, "http", "ws", 1) + "/ws' failed")
	if s := web.state(); len(s.Errors) > 0 {
		t.Errorf("the app reported errors: %+v", s.Errors)
	}
}

// enrolWith enrols the browser with an enrolment link (of a server that is
// not startServer's, or under another origin).
func (b *browser) enrolWith(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatal(err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector('[data-state="enrolled"]') !== null`, chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		b.t.Fatalf("%s: enrolment: %v", b.name, err)
	}
	b.enrolled = true
}

// checkConsoleExcept is checkConsole for a page that was expected to log
// errors containing allowed (and no other).
func (b *browser) checkConsoleExcept(allowed string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if (m.Type == chromedp.ConsoleError || m.IsException()) && !strings.Contains(m.String(), allowed) {
			b.t.Errorf("%s: console %s (%s:%d)", b.name, m.String(), m.URL, m.Line)
		}
	}
}

// checkOpusFEC: the server offers Opus with in-band FEC (RFC 7587 §6.1,
// useinbandfec=1: it can take FEC data), and the browser's answer asks for
// it too, so both directions carry the previous frame's redundancy in each
// packet; it survives SFrame, which encrypts whole Opus frames.
func checkOpusFEC(t *testing.T, b *browser) {
	t.Helper()
	sdp := eval[struct{ Local, Remote string }](b, `window.hotline.sdp()`)
	for name, desc := range map[string]string{"server's offer": sdp.Remote, "browser's answer": sdp.Local} {
		pt := ""
		for _, l := range strings.Split(desc, "\r\n") {
			if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok && strings.Contains(strings.ToLower(rest), "opus/48000") {
				pt, _, _ = strings.Cut(rest, " ")
			}
		}
		ok := false
		for _, l := range strings.Split(desc, "\r\n") {
			if strings.HasPrefix(l, "a=fmtp:"+pt+" ") && strings.Contains(l, "useinbandfec=1") {
				ok = true
			}
		}
		if pt == "" || !ok {
			t.Errorf("the %s does not offer Opus with useinbandfec=1 (payload type %q)", name, pt)
		}
	}
}

// nativeBack: a's current session decrypts video and audio from every other
// participant.
func nativeBack(a *client.Attendee, self string, everyone []string) (bool, string) {
	c := a.Client()
	if c == nil {
		return false, self + ": no session"
	}
	got := map[string]uint64{}
	for _, ts := range c.Stats().Tracks {
		if !ts.Ended && ts.Decrypted >= 10 {
			got[ts.From+"/"+ts.Kind] = ts.Decrypted
		}
	}
	for _, o := range everyone {
		if o == self {
			continue
		}
		for _, k := range []string{protocol.KindVideo, protocol.KindAudio} {
			if got[o+"/"+k] == 0 {
				return false, fmt.Sprintf("%s: no %s decrypted from %s yet", self, k, o)
			}
		}
	}
	return true, ""
}

// webBack: the page rejoined (a second session) and decodes both natives.
func webBack(b *browser) (bool, string) {
	if n := eval[int](b, `window.hotline.state().sessions`); n < 2 {
		return false, fmt.Sprintf("web: %d sessions", n)
	}
	s := b.state()
	for _, o := range []string{"north", "south"} {
		if f, _, ok := s.videoFrom(o); !ok || f == 0 {
			return false, fmt.Sprintf("web: no frame decoded from %s yet", o)
		}
	}
	return true, ""
}

// TestBrowserResumesSession: the page's signalling socket dies without a
// word (its TCP connection is reset on the browser's side; the server's
// side stays open and silent, as after a network change). The page resumes
// its session over a new socket: the same participant id and keys, no
// rejoin, and the media go on both ways.
func TestBrowserResumesSession(t *testing.T) {
	srv := startServer(t)
	relay := topology.NewRelay(t, strings.TrimPrefix(srv.URL(), "http://"))
	base := "http://" + relay.Addr() // the page's origin: its identity lives there
	ctx := context.Background()
	link, err := demo.AddLink(ctx, srv.Store(), demo.East, "web", []role.Role{role.Principal})
	if err != nil {
		t.Fatal(err)
	}
	web := newBrowser(t, "web", 1280, 720)
	web.enrolWith(link.URL(base))
	web.open(base + "/call/resume?autojoin=1")
	native := client.Attend(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "resume", Device: enrolDevice(t, srv, "native"), Publish: true}, client.Backoff{})
	t.Cleanup(func() { _ = native.Close() })
	web.waitVideoGrowing("native")
	servertest.Eventually(t, "native decrypts web", func() (bool, string) { return nativeBack(native, "native", []string{"web"}) })
	id := web.state().ID

	relay.Cut()
	servertest.Eventually(t, "the page to resume its session", func() (bool, string) {
		n := eval[int](web, `window.hotline.state().resumes`)
		return n == 1, fmt.Sprintf("%d resumptions", n)
	})
	web.waitVideoGrowingBy("native", 20)
	before := decryptedOf(native.Client(), "web")
	servertest.Eventually(t, "native decrypts web after the resumption", func() (bool, string) {
		n := decryptedOf(native.Client(), "web")
		return n >= before+20, fmt.Sprintf("%d more frames", n-before)
	})
	s := web.state()
	if s.ID != id || eval[int](web, `window.hotline.state().sessions`) != 1 || native.Joins() != 1 {
		t.Errorf("a rejoin happened: id %s → %s, sessions %d", id, s.ID, eval[int](web, `window.hotline.state().sessions`))
	}
	web.checkClean()
}

// decryptedOf sums the video frames c decrypted from the publisher named from.
func decryptedOf(c *client.Client, from string) uint64 {
	var n uint64
	if c == nil {
		return 0
	}
	for _, ts := range c.Stats().Tracks {
		if ts.From == from && ts.Kind == protocol.KindVideo {
			n += ts.Decrypted
		}
	}
	return n
}
