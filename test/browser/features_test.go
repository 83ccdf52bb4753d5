package browser

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/servertest"
)

// The controls a person uses in a call, through the real page: joining
// audio-only from the start page, turning the camera on later (a publish),
// choosing another camera (no renegotiation), adding and removing a second
// camera, muting, leaving.
func TestCallControls(t *testing.T) {
	srv := startServer(t)
	// Three fake cameras: Chromium's second fake device delivers Y16 (a
	// depth format) that no video encoder takes, so switching goes to the
	// third (MJPEG), a camera like any other.
	a := launch(t, "a", 1280, 720, 3)
	b := newBrowser(t, "b", 1280, 720)
	a.open(srv.URL() + "/call/y?name=a&autojoin=1")

	// b uses the start page: name, audio only, Join.
	b.open(srv.URL() + "/call/y")
	servertest.Eventually(t, "b's start page to list its devices", func() (bool, string) {
		n := eval[int](b, `document.querySelectorAll('#camera option').length`)
		return n > 0, fmt.Sprintf("%d cameras", n)
	})
	b.do(chromedp.SendKeys(chromedp.ID("name"), "b"), chromedp.Click(chromedp.ID("audio-only")), chromedp.Click(chromedp.ID("join")))
	servertest.Eventually(t, "b to join", func() (bool, string) {
		s := b.state()
		return s.Joined, fmt.Sprintf("%+v", s)
	})
	if path := eval[string](b, `location.pathname`); path != "/call/y" {
		t.Errorf("b's address after joining is %q, want /call/y", path)
	}

	// a shows b as a name tile with sound, and b sees a.
	servertest.Eventually(t, "a to show b as a voice tile", func() (bool, string) {
		s := a.state()
		for _, tile := range s.Tiles {
			if tile.Name == "b" && tile.Kind == "voice" {
				return s.audioFrom("b") > 0, fmt.Sprintf("%+v", s)
			}
		}
		return false, fmt.Sprintf("%+v", s.Tiles)
	})
	b.waitVideoGrowing("a")

	// b turns its camera on: published mid-call, a decodes it.
	b.do(chromedp.Click(chromedp.ID("btn-cam")))
	a.waitVideoGrowing("b")

	// a switches to its other camera: the same track goes on with another
	// device, without a new offer, and b keeps decoding.
	before := a.state()
	next := eval[string](a, `(() => {
		const s = document.getElementById('call-camera');
		const other = [...s.options].find((o) => o.textContent === 'fake_device_2');
		s.value = other.value;
		s.dispatchEvent(new Event('change'));
		return other.value;
	})()`)
	servertest.Eventually(t, "a to send from its other camera", func() (bool, string) {
		s := a.state()
		return s.Local.CameraDevice == next, fmt.Sprintf("device %q, want %q", s.Local.CameraDevice, next)
	})
	b.waitVideoGrowingBy("a", 40) // two seconds of the fake camera's 20 fps
	// Offers that an ICE restart or a resumption brought (a busy machine
	// can make Chromium report the connection down for a moment) are not
	// a renegotiation; after a rejoin the counts start again.
	switch after := a.state(); {
	case after.Sessions != before.Sessions:
		t.Logf("a rejoined while switching cameras (sessions %d → %d): no offers to compare", before.Sessions, after.Sessions)
	case after.Offers-before.Offers > after.ICERestarts-before.ICERestarts+after.Resumes-before.Resumes:
		t.Errorf("switching cameras renegotiated: %d offers before, %d after (ICE restarts asked for: %d before, %d after; resumptions %d, %d)",
			before.Offers, after.Offers, before.ICERestarts, after.ICERestarts, before.Resumes, after.Resumes)
	}

	// Camera off releases the device and b's tile falls back to the name;
	// camera on brings the picture back.
	a.do(chromedp.Click(chromedp.ID("btn-cam")))
	servertest.Eventually(t, "b to show a's camera as paused", func() (bool, string) {
		tiles := b.videosFrom("a")
		return len(tiles) == 1 && !tiles[0].HasVideo && !a.state().Local.Camera, fmt.Sprintf("%+v", tiles)
	})
	a.do(chromedp.Click(chromedp.ID("btn-cam")))
	b.waitVideoGrowingBy("a", 40)
	servertest.Eventually(t, "b to show a's picture again", func() (bool, string) {
		tiles := b.videosFrom("a")
		return len(tiles) == 1 && tiles[0].HasVideo, fmt.Sprintf("%+v", tiles)
	})

	// a adds a second camera: b gets two tiles from a, labelled by source,
	// both alive.
	a.do(chromedp.Click(chromedp.ID("btn-cam2")))
	servertest.Eventually(t, "b to decode both of a's cameras", func() (bool, string) {
		tiles := b.videosFrom("a")
		if len(tiles) != 2 {
			return false, fmt.Sprintf("%d tiles", len(tiles))
		}
		for _, tl := range tiles {
			if tl.FramesDecoded == 0 || !strings.Contains(tl.Label, tl.Source) || tl.Source == "" {
				return false, fmt.Sprintf("%+v", tiles)
			}
		}
		return true, ""
	})

	// Mute: the track is disabled, the button says so.
	a.do(chromedp.Click(chromedp.ID("btn-mic")))
	if label := eval[string](a, `document.querySelector('#btn-mic .btn-label').textContent`); label != "Unmute" {
		t.Errorf("after muting, the mic button says %q", label)
	}
	if muted := eval[bool](a, `!window.hotline.state().local.mic`); !muted {
		t.Error("after muting, the microphone track is still enabled")
	}

	// Removing the second camera ends that tile at b.
	a.do(chromedp.Click(chromedp.ID("btn-cam2")))
	servertest.Eventually(t, "b to drop a's second camera", func() (bool, string) {
		tiles := b.videosFrom("a")
		return len(tiles) == 1, fmt.Sprintf("%+v", tiles)
	})

	// Leaving shows the end screen at a and removes a at b.
	a.do(chromedp.Click(chromedp.ID("btn-leave")))
	servertest.Eventually(t, "b to see a leave", func() (bool, string) {
		s := b.state()
		return len(s.Roster) == 1 && len(b.videosFrom("a")) == 0, fmt.Sprintf("%+v", s.Roster)
	})
	if shown := eval[bool](a, `!document.getElementById('overlay').hidden`); !shown {
		t.Error("a: no end-of-call screen after Leave")
	}
	a.checkClean()
	b.checkClean()
}

// TestLobbyNeedsEnrolment: the start page of a browser that holds no
// credential names nobody, points to enrolment and does not let it join;
// once enrolled, it shows the credential's name, side and roles.
func TestLobbyNeedsEnrolment(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t, "stranger", 1280, 720)
	b.do(chromedp.Navigate(srv.URL() + "/call/z"))
	servertest.Eventually(t, "the start page to decide", func() (bool, string) {
		st := eval[string](b, `document.getElementById('lobby')?.dataset.enrolled ?? ''`)
		return st != "", st
	})
	if st := eval[string](b, `document.getElementById('lobby').dataset.enrolled`); st != "false" {
		t.Fatalf("an unenrolled browser's start page says enrolled=%s", st)
	}
	if !eval[bool](b, `document.getElementById('join').disabled`) {
		t.Error("an unenrolled browser may press Join")
	}
	if href := eval[string](b, `document.querySelector('#who-detail a')?.getAttribute('href') ?? ''`); href != "/enrol" {
		t.Errorf("the start page links to %q, want /enrol", href)
	}

	b.enrolAs(srv.URL(), demo.West, "West Adviser", role.Adviser)
	b.open(srv.URL() + "/call/z")
	servertest.Eventually(t, "the start page to know the enrolled browser", func() (bool, string) {
		st := eval[string](b, `document.getElementById('lobby').dataset.enrolled ?? ''`)
		return st == "true", st
	})
	name := eval[string](b, `document.getElementById('name').value`)
	who := eval[string](b, `document.getElementById('who-detail').textContent`)
	if name != "West Adviser" || !strings.Contains(who, "west") || !strings.Contains(who, "adviser") {
		t.Errorf("start page shows %q / %q", name, who)
	}
	if eval[bool](b, `document.getElementById('join').disabled`) {
		t.Error("an enrolled browser may not press Join")
	}
	b.checkConsole()
}
