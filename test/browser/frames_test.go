package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// hideFrameAPIs makes every page b opens from now on lack Chromium's
// createEncodedStreams, as Firefox and Safari do; with script, also the
// standard RTCRtpScriptTransform, as a browser that cannot encrypt media
// at all. The app's feature detection (static/e2ee/frames.js) then takes
// the path such a browser would.
func (b *browser) hideFrameAPIs(script bool) {
	b.t.Helper()
	js := `delete RTCRtpSender.prototype.createEncodedStreams; delete RTCRtpReceiver.prototype.createEncodedStreams;`
	if script {
		js += ` delete window.RTCRtpScriptTransform;`
	}
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js}); err != nil {
		b.t.Fatalf("%s: hide the frame APIs: %v", b.name, err)
	}
}

// framesPath is the frame API the page's call uses, once it has one.
func (b *browser) framesPath() string {
	b.t.Helper()
	var path string
	servertest.Eventually(b.t, b.name+"'s call to start", func() (bool, string) {
		path = eval[string](b, `String(window.hotline.state().frames)`)
		return path != "undefined", "no call yet"
	})
	return path
}

// TestScriptTransformPath: a browser without createEncodedStreams (forced
// here in Chromium) encrypts and decrypts with RTCRtpScriptTransform. With
// a native endpoint: the browser decodes the endpoint's video (receive
// transforms), the endpoint decrypts the browser's microphone (a sender of
// the first offer) and then its camera, turned on later (a sender of a
// later offer, whose transform is set after the microphone's track went
// out). A second browser whose RTCRtpScriptTransform is ignored on every
// sender after the first (as Chromium does on some transceivers,
// BROWSER_TESTS.md) turns its camera on too: the page sees the sender's
// packets leave while its worker saw no frame (a disabled copy of the
// camera, black frames, is all that left), stops the sender and says so,
// and the endpoint never decrypts a frame of it. In the normal path
// Chromium uses its encoded streams.
func TestScriptTransformPath(t *testing.T) {
	tier.Browser(t)
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	native, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "script", Device: enrolDevice(t, srv, "native"), Publish: true})
	if err != nil {
		t.Fatalf("native endpoint: join: %v", err)
	}
	t.Cleanup(func() { native.Close() })

	web := newBrowser(t, "web", 1280, 720)
	web.hideFrameAPIs(false)
	web.joinAudioOnly(srv.URL() + "/call/script?name=web")
	if path := web.framesPath(); path != "script" {
		t.Fatalf("frame path %q, want script", path)
	}
	f1, f2 := web.waitVideoGrowing("native")
	t.Logf("web decrypts and decodes native's video: framesDecoded %d then %d", f1, f2)
	waitDecrypted(t, native, "web", "mic")
	web.do(chromedp.Click(chromedp.ID("btn-cam")))
	video := waitDecrypted(t, native, "web", "camera")
	t.Logf("native decrypts web's camera, turned on after joining: %d frames", video)
	web.checkClean()

	// A browser that ignores the transform of its second sender.
	ign := newBrowser(t, "ignorer", 1280, 720)
	ign.hideFrameAPIs(false)
	ign.ignoreSenderTransforms(1)
	ign.joinAudioOnly(srv.URL() + "/call/script?name=ignorer")
	waitDecrypted(t, native, "ignorer", "mic")
	ign.do(chromedp.Click(chromedp.ID("btn-cam")))
	var shown string
	servertest.Eventually(t, "the page to stop the camera whose transform the browser ignores", func() (bool, string) {
		s := ign.state()
		for _, e := range s.Errors {
			if e.Code == "e2ee" && strings.Contains(e.Message, "without running the end-to-end encryption") {
				shown = e.Message
				return true, ""
			}
		}
		return false, fmt.Sprintf("errors %+v", s.Errors)
	})
	t.Logf("the page says: %s", shown)
	d, f := decryptedFrom(native, "ignorer", "camera")
	if d != 0 {
		t.Errorf("the native endpoint decrypted %d frames of the unencrypted camera", d)
	}
	t.Logf("the ignored camera at the native endpoint: 0 decrypted, %d undecryptable (the black stand-in)", f)
	ign.checkConsole()

	plain := newBrowser(t, "plain", 640, 480)
	plain.open(srv.URL() + "/call/script?name=plain&autojoin=1")
	if path := plain.framesPath(); path != "streams" {
		t.Errorf("Chromium's frame path %q, want streams", path)
	}
}

// joinAudioOnly joins from the start page with the camera off.
func (b *browser) joinAudioOnly(url string) {
	b.t.Helper()
	b.open(url)
	servertest.Eventually(b.t, b.name+"'s start page to list its devices", func() (bool, string) {
		n := eval[int](b, `document.querySelectorAll('#camera option').length`)
		return n > 0, fmt.Sprintf("%d cameras", n)
	})
	b.do(chromedp.Click(chromedp.ID("audio-only")), chromedp.Click(chromedp.ID("join")))
}

// ignoreSenderTransforms makes the pages b opens ignore every
// RTCRtpSender.transform assignment after the first n.
func (b *browser) ignoreSenderTransforms(n int) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => {
  const d = Object.getOwnPropertyDescriptor(RTCRtpSender.prototype, 'transform');
  let set = 0;
  Object.defineProperty(RTCRtpSender.prototype, 'transform', {
    configurable: true, get: d.get,
    set(v) { if (++set <= %d) d.set.call(this, v); },
  });
})();`, n)
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js}); err != nil {
		b.t.Fatalf("%s: %v", b.name, err)
	}
}

// decryptedFrom sums what the native endpoint got of from's tracks of this
// source: frames decrypted, and frames that failed.
func decryptedFrom(c *client.Client, from, source string) (decrypted, failed uint64) {
	for _, tr := range c.Stats().Tracks {
		if tr.From == from && tr.Source == source {
			decrypted += tr.Decrypted
			failed += tr.DecryptFailed + tr.UnknownKey + tr.WrongSender
		}
	}
	return decrypted, failed
}

// waitDecrypted waits until c has decrypted 20 frames of from's source.
func waitDecrypted(t *testing.T, c *client.Client, from, source string) uint64 {
	t.Helper()
	var d uint64
	servertest.Eventually(t, fmt.Sprintf("the native endpoint to decrypt %s's %s", from, source), func() (bool, string) {
		var f uint64
		d, f = decryptedFrom(c, from, source)
		return d >= 20, fmt.Sprintf("%d decrypted, %d failed", d, f)
	})
	return d
}

// TestNoFrameAPIRefuses: a browser that can encrypt media by neither API
// is told so and never joins.
func TestNoFrameAPIRefuses(t *testing.T) {
	tier.Browser(t)
	srv := startServer(t)
	b := newBrowser(t, "old", 1024, 768)
	b.hideFrameAPIs(true)
	b.open(srv.URL() + "/call/none?name=old&autojoin=1")
	servertest.Eventually(t, "the page to refuse", func() (bool, string) {
		s := b.state()
		for _, e := range s.Errors {
			if e.Code == "unsupported" && strings.Contains(e.Message, "cannot encrypt media end to end") {
				return eval[bool](b, `!document.getElementById('overlay').hidden`), "no end screen"
			}
		}
		return false, fmt.Sprintf("errors %+v", s.Errors)
	})
	if title := eval[string](b, `document.getElementById('overlay-title').textContent`); title != "Could not join the call" {
		t.Errorf("end screen title %q", title)
	}
	if path := b.framesPath(); path != "null" {
		t.Errorf("frame path %q, want null", path)
	}
	if n := srv.Registry().Participants(); n != 0 {
		t.Errorf("%d participants on the server: the browser joined", n)
	}
	b.checkConsole()
}
