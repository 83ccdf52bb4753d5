package browser

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/servertest"
)

// Screenshots for people to look at (not compared by the tests).
const (
	callScreenshot  = "/tmp/hotline-call.png"
	startScreenshot = "/tmp/hotline-start.png"
)

// Two browsers in one call each decode the other's camera and receive the
// other's microphone, and label the tile with the other's name.
func TestTwoBrowsers(t *testing.T) {
	srv := startServer(t)
	a := newBrowser(t, "a", 1920, 1080)
	b := newBrowser(t, "b", 1280, 720)
	a.open(srv.URL() + "/call/x?name=a&autojoin=1")
	b.open(srv.URL() + "/call/x?name=b&autojoin=1")

	for _, p := range []struct {
		viewer *browser
		other  string
	}{{a, "b"}, {b, "a"}} {
		f1, f2 := p.viewer.waitVideoGrowing(p.other)
		n := p.viewer.waitAudio(p.other)
		t.Logf("%s sees %s: framesDecoded %d then %d; audio packetsReceived %d", p.viewer.name, p.other, f1, f2, n)
	}
	for _, br := range []*browser{a, b} {
		s := br.state()
		if !s.Joined || len(s.Roster) != 2 {
			t.Errorf("%s: joined %v, roster %v", br.name, s.Joined, s.Roster)
		}
	}
	a.screenshot(callScreenshot)
	a.checkClean()
	b.checkClean()
}

// A browser and the native Go endpoint exchange media both ways: the browser
// decodes the endpoint's VP8, the endpoint counts the browser's video frames
// and audio packets.
func TestBrowserAndNativeEndpoint(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	native, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "mixed", Device: enrolDevice(t, srv, "native"), Publish: true})
	if err != nil {
		t.Fatalf("native endpoint: join: %v", err)
	}
	t.Cleanup(func() { native.Close() })

	web := newBrowser(t, "web", 1280, 720)
	web.open(srv.URL() + "/call/mixed?name=web&autojoin=1")

	f1, f2 := web.waitVideoGrowing("native")
	n := web.waitAudio("native")
	t.Logf("web sees native: framesDecoded %d then %d; audio packetsReceived %d", f1, f2, n)

	// From the native side: the browser's camera and microphone arrive.
	var video, audio uint64
	servertest.Eventually(t, "the native endpoint to receive the browser's video and audio", func() (bool, string) {
		video, audio = 0, 0
		st := native.Stats()
		for _, tr := range st.Tracks {
			if tr.From != "web" || tr.Ended {
				continue
			}
			switch tr.Kind {
			case "video":
				video += tr.Frames
			case "audio":
				audio += tr.Packets
			}
		}
		return video > 0 && audio > 0, fmt.Sprintf("%+v", st.Tracks)
	})
	first := video
	servertest.Eventually(t, "the native endpoint's frame count from the browser to grow", func() (bool, string) {
		video = 0
		for _, tr := range native.Stats().Tracks {
			if tr.From == "web" && tr.Kind == "video" && !tr.Ended {
				video += tr.Frames
			}
		}
		return video > first, fmt.Sprintf("frames %d", video)
	})
	t.Logf("native sees web: video frames %d then %d; audio packets %d", first, video, audio)
	if errs := native.Errors(); len(errs) > 0 {
		t.Errorf("native endpoint got server errors: %+v", errs)
	}
	web.checkClean()
}

// The start page renders, previews the fake camera and lists it, with no
// console errors.
func TestStartPage(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t, "start", 1920, 1080)
	b.open(srv.URL() + "/call/line-1")
	servertest.Eventually(t, "the camera preview to play", func() (bool, string) {
		ok := eval[bool](b, `(() => { const v = document.getElementById('preview'); return v.readyState >= 2 && v.videoWidth > 0; })()`)
		return ok, "preview not playing"
	})
	servertest.Eventually(t, "the camera list", func() (bool, string) {
		n := eval[int](b, `document.querySelectorAll('#camera option').length`)
		return n > 0, fmt.Sprintf("%d cameras listed", n)
	})
	if call := eval[string](b, `document.getElementById('call').value`); call != "line-1" {
		t.Errorf("call field = %q, want the call from the URL", call)
	}
	// Let the preview settle on a frame for the screenshot.
	time.Sleep(500 * time.Millisecond)
	b.screenshot(startScreenshot)
	b.checkClean()
}
