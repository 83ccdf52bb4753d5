package browser

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/chromium"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// waitTimeout is a generous bound that only keeps a broken run from
// hanging (servertest.Eventually's); nothing asserts on how long things take.
const waitTimeout = servertest.Patience

// startServer runs a hotline server on loopback for the test's lifetime,
// with the demo line provisioned as `hotline demo` does: browsers enrol
// through its links (see browser.enrol), native endpoints with enrolDevice.
func startServer(t testing.TB) *servertest.Server {
	t.Helper()
	return startServerWith(t, server.Config{})
}

// startServerWith is startServer with a server configuration (a metrics
// listener, say).
func startServerWith(t testing.TB, cfg server.Config) *servertest.Server {
	t.Helper()
	tier.Browser(t)
	srv := servertest.Start(t, cfg, testLogger(t))
	demos.Store(srv.URL(), srv)
	t.Cleanup(func() { demos.Delete(srv.URL()) })
	return srv
}

// demos maps a test server's base URL to it.
var demos sync.Map

func demoOf(t testing.TB, base string) *servertest.Server {
	t.Helper()
	v, ok := demos.Load(base)
	if !ok {
		t.Fatalf("no test server at %s", base)
	}
	return v.(*servertest.Server)
}

// enrolDevice enrols a native endpoint's device on the test server's line.
func enrolDevice(t *testing.T, srv *servertest.Server, name string) *trust.Device {
	t.Helper()
	return srv.Device(t, demo.West, name)
}

// enrol opens a fresh demo enrolment link for name in this browser, as a
// person does with the link `hotline demo` prints, and waits until the page
// says the browser is enrolled.
func (b *browser) enrol(base, name string) {
	b.t.Helper()
	b.enrolAs(base, demo.East, name, role.Principal) // in the call at once
}

// enrolAs is enrol with a link for this side and these roles.
func (b *browser) enrolAs(base, side, name string, roles ...role.Role) {
	b.t.Helper()
	l, err := demo.AddLink(context.Background(), demoOf(b.t, base).Store(), side, name, roles)
	if err != nil {
		b.t.Fatal(err)
	}
	b.enrolWithLink(l.URL(base))
}

// enrolWithLink opens an enrolment link and waits until the page says the
// browser is enrolled.
func (b *browser) enrolWithLink(link string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(link)); err != nil {
		b.t.Fatalf("%s: navigate to the enrolment link: %v", b.name, err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector('[data-state="enrolled"]') !== null`,
		chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		b.t.Fatalf("%s: enrolment did not complete: %v", b.name, err)
	}
	b.enrolled = true
}

// testLogger logs warnings and errors to the test output, and drops them
// once the test is over (a late goroutine must not write to a finished T).
func testLogger(t testing.TB) *slog.Logger {
	w := &guardedWriter{w: t.Output()}
	t.Cleanup(func() { w.done.Store(true) }) // registered first, so it runs last
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type guardedWriter struct {
	mu   sync.Mutex
	w    io.Writer
	done atomic.Bool
}

func (g *guardedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done.Load() {
		return len(p), nil
	}
	return g.w.Write(p)
}

// browser is one Chromium with one tab, and everything the page wrote to
// its console.
type browser struct {
	t    testing.TB
	name string
	ctx  context.Context

	width, height int
	enrolled      bool

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowser starts a headless Chromium with a fresh profile, a fake camera
// and microphone, and the window size given. It is closed at test end.
func newBrowser(t testing.TB, name string, width, height int) *browser {
	t.Helper()
	return launch(t, name, width, height, 1)
}

// launch is newBrowser with a choice of how many fake cameras the browser
// has; more than one is for tests of camera switching.
// Extra options (a certificate to accept, for one) follow the usual flags.
func launch(t testing.TB, name string, width, height, cameras int, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	tier.Browser(t)
	var fakeDevices any = true
	if cameras > 1 {
		// The fake capture factory's own option string (Chromium's
		// media/capture/video/fake_video_capture_device_factory.cc).
		fakeDevices = fmt.Sprintf("device-count=%d", cameras)
	}
	if err := chromium.Check(); err != nil {
		t.Fatal(err)
	}
	opts := append(chromium.Options(t.TempDir(), width, height, fakeDevices), extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, name: name, ctx: ctx, width: width, height: height}
	// Registered after the cancel above, so it runs before it: a failed
	// test says what each of its pages was doing.
	t.Cleanup(func() {
		if t.Failed() {
			b.postMortem()
		}
	})

	// Subscribe before the first navigation so that nothing is missed.
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// open loads a page and waits for its app to be ready. A call page is
// opened by an enrolled browser: the first time, the browser enrols first
// under the page's name parameter (or the browser's name).
func (b *browser) open(url string) {
	b.t.Helper()
	if u, err := neturl.Parse(url); err == nil && strings.HasPrefix(u.Path, "/call/") && !b.enrolled {
		name := u.Query().Get("name")
		if name == "" {
			name = b.name
		}
		b.enrol(u.Scheme+"://"+u.Host, name)
	}
	// The window size flag includes the browser's frame; emulate the
	// viewport so that the page (and a screenshot) is exactly this size.
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(int64(b.width), int64(b.height)), chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("%s: navigate %s: %v", b.name, url, err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`typeof window.hotline === "object"`,
		chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		b.t.Fatalf("%s: the app did not start: %v", b.name, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, js, err)
	}
	return v
}

// pageState mirrors window.hotline.state() (internal/web/static/call.js).
type pageState struct {
	Joined     bool   `json:"joined"`
	ID         string `json:"id"`
	Call       string `json:"call"`
	Name       string `json:"name"`
	Connection string `json:"connection"`
	Offers     int    `json:"offers"`
	// ICERestarts: restarts the page asked for (icewatch.js); each brings an offer.
	ICERestarts int `json:"iceRestarts"`
	// Sessions joined (1 + rejoins), and whether the page is rejoining or
	// resuming its session on a new socket right now.
	Sessions     int  `json:"sessions"`
	Reconnecting bool `json:"reconnecting"`
	Resuming     bool `json:"resuming"`
	Resumes      int  `json:"resumes"` // sessions resumed on a new socket; each brings an offer
	Local        struct {
		Mic          bool   `json:"mic"`
		Camera       bool   `json:"camera"`
		Camera2      bool   `json:"camera2"`
		CameraDevice string `json:"cameraDevice"`
	} `json:"local"`
	Roster []string    `json:"roster"`
	Tiles  []tileState `json:"tiles"`
	Audio  []struct {
		Mid             string  `json:"mid"`
		Participant     string  `json:"participant"`
		Name            string  `json:"name"`
		PacketsReceived int64   `json:"packetsReceived"`
		AudioLevel      float64 `json:"audioLevel"`
		Playing         bool    `json:"playing"`
	} `json:"audio"`
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// tileState is one remote tile of pageState.
type tileState struct {
	Key             string  `json:"key"`
	Participant     string  `json:"participant"`
	Name            string  `json:"name"`
	Source          string  `json:"source"`
	Label           string  `json:"label"`
	Kind            string  `json:"kind"`
	Mid             string  `json:"mid"`
	HasVideo        bool    `json:"hasVideo"`
	FramesDecoded   int64   `json:"framesDecoded"`
	PacketsReceived int64   `json:"packetsReceived"`
	FrameWidth      int     `json:"frameWidth"`
	FrameHeight     int     `json:"frameHeight"`
	LossPercent     float64 `json:"lossPercent"`
	Quality         string  `json:"quality"`
}

// do runs actions on the page, such as clicks.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", b.name, err)
	}
}

func (b *browser) state() pageState {
	b.t.Helper()
	return eval[pageState](b, `window.hotline.state()`)
}

// videoFrom returns the frames decoded from the named participant's first
// video tile and whether its label shows that name.
func (s pageState) videoFrom(name string) (frames int64, labelled bool, ok bool) {
	for _, t := range s.Tiles {
		if t.Name == name && t.Kind == "video" {
			return t.FramesDecoded, strings.Contains(t.Label, name), true
		}
	}
	return 0, false, false
}

// videosFrom lists b's video tiles of the named participant.
func (b *browser) videosFrom(name string) []tileState {
	b.t.Helper()
	var out []tileState
	for _, t := range b.state().Tiles {
		if t.Name == name && t.Kind == "video" {
			out = append(out, t)
		}
	}
	return out
}

// audioFrom returns the audio packets received from the named participant.
func (s pageState) audioFrom(name string) int64 {
	var n int64
	for _, a := range s.Audio {
		if a.Name == name {
			n += a.PacketsReceived
		}
	}
	return n
}

// waitVideoGrowing waits until b decodes video from `from`, then until a
// later reading shows more frames: the picture is alive, not one frame.
func (b *browser) waitVideoGrowing(from string) (first, second int64) {
	b.t.Helper()
	return b.waitVideoGrowingBy(from, 1)
}

// waitVideoGrowingBy is waitVideoGrowing needing at least n more frames;
// after a change at the sender, a large n rules out frames that were
// already in flight.
func (b *browser) waitVideoGrowingBy(from string, n int64) (first, second int64) {
	b.t.Helper()
	servertest.Eventually(b.t, fmt.Sprintf("%s to decode video from %s", b.name, from), func() (bool, string) {
		s := b.state()
		f, labelled, ok := s.videoFrom(from)
		first = f
		return ok && labelled && f > 0, fmt.Sprintf("%+v", s)
	})
	servertest.Eventually(b.t, fmt.Sprintf("%s's frame count from %s to grow from %d by %d", b.name, from, first, n), func() (bool, string) {
		s := b.state()
		f, _, _ := s.videoFrom(from)
		second = f
		return f >= first+n, fmt.Sprintf("framesDecoded %d", f)
	})
	return first, second
}

// waitAudio waits until b has received audio packets from `from`.
func (b *browser) waitAudio(from string) int64 {
	b.t.Helper()
	var n int64
	servertest.Eventually(b.t, fmt.Sprintf("%s to receive audio from %s", b.name, from), func() (bool, string) {
		s := b.state()
		n = s.audioFrom(from)
		return n > 0, fmt.Sprintf("%+v", s.Audio)
	})
	return n
}

// checkClean fails the test if the page logged an error or threw, or if the
// app itself reported one to the user.
func (b *browser) checkClean() {
	b.t.Helper()
	b.checkConsole()
	if s := b.state(); len(s.Errors) > 0 {
		b.t.Errorf("%s: the app reported errors: %+v", b.name, s.Errors)
	}
}

// postMortem logs, for a failed test, what the page says of itself: its
// session count (a rejoin shows as more than one), hold state, errors and
// last console lines. It never fails the test itself.
func (b *browser) postMortem() {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	const js = `JSON.stringify((() => {
		const s = window.hotline?.state?.() ?? {};
		const hold = document.getElementById('hold');
		return { id: s.id, joined: s.joined, sessions: s.sessions, reconnecting: s.reconnecting,
			resumes: s.resumes, connection: s.connection, offers: s.offers,
			hold: hold && !hold.hidden ? hold.dataset.state : '', errors: s.errors,
			roster: (s.participants ?? []).map((p) => p.name + ':' + p.state + ':' + p.id) };
	})())`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		out = "state unavailable: " + err.Error()
	}
	b.t.Logf("%s (post mortem): %s", b.name, out)
	b.mu.Lock()
	defer b.mu.Unlock()
	tail := b.console[max(0, len(b.console)-15):]
	for _, m := range tail {
		b.t.Logf("%s (post mortem) console %s: %s", b.name, m.Type, m.String())
	}
}

// checkConsole fails the test if the page logged an error or threw.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			b.t.Errorf("%s: console %s (%s:%d)", b.name, m.String(), m.URL, m.Line)
		}
	}
}

// screenshot saves a PNG of the viewport.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("%s: write screenshot: %v", b.name, err)
	}
	b.t.Logf("%s: screenshot saved to %s", b.name, path)
}
