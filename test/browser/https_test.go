package browser

import (
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/certs"
	"hotline/internal/server"
)

// acceptingOnly makes Chromium accept exactly this certificate's key
// despite its unknown issuer (the test CA is not in the browser's roots),
// and nothing else: not a blanket --ignore-certificate-errors.
func acceptingOnly(leaf *x509.Certificate) chromedp.ExecAllocatorOption {
	return chromedp.Flag("ignore-certificate-errors-spki-list", certs.SPKIHash(leaf))
}

// refusedWithoutTrust checks the negative control: a browser without the
// flag gets a certificate error for base and never the page.
func refusedWithoutTrust(t *testing.T, base string) {
	t.Helper()
	stranger := launch(t, "stranger", 800, 600, 1)
	err := chromedp.Do(stranger.ctx, chromedp.Navigate(base+"/"))
	if err == nil || !strings.Contains(err.Error(), "ERR_CERT") {
		t.Fatalf("a browser that does not trust the certificate loaded %s: %v", base, err)
	}
}

// callOverHTTPS has two browsers that accept only leaf enrol (enrol) and
// join the call page at callURL(name), then checks that the page is a
// secure context and that each decodes the other's video and receives its
// audio.
func callOverHTTPS(t *testing.T, leaf *x509.Certificate, enrol func(b *browser, name string), callURL func(name string) string) {
	t.Helper()
	a := launch(t, "a", 1280, 720, 1, acceptingOnly(leaf))
	b := launch(t, "b", 1280, 720, 1, acceptingOnly(leaf))
	for _, br := range []*browser{a, b} {
		enrol(br, br.name)
		br.open(callURL(br.name))
		// The reason for HTTPS: off localhost only a secure context has
		// the camera and WebCrypto.
		if !eval[bool](br, `window.isSecureContext && location.protocol === "https:" && !!crypto.subtle && !!navigator.mediaDevices`) {
			t.Fatalf("%s: not a secure https:// context", br.name)
		}
	}
	for _, p := range []struct {
		viewer *browser
		other  string
	}{{a, "b"}, {b, "a"}} {
		f1, f2 := p.viewer.waitVideoGrowing(p.other)
		n := p.viewer.waitAudio(p.other)
		t.Logf("%s sees %s over https: framesDecoded %d then %d; audio packetsReceived %d", p.viewer.name, p.other, f1, f2, n)
	}
	a.checkClean()
	b.checkClean()
}

// Two browsers enrol and call over https:// on loopback.
func TestBrowsersOverHTTPSOnLoopback(t *testing.T) {
	dir := t.TempDir()
	is, err := certs.Init(dir, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := startServerWith(t, server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(),
		TLSCert: filepath.Join(dir, certs.CertFile), TLSKey: filepath.Join(dir, certs.KeyFile)})
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("server URL %s", srv.URL())
	}
	refusedWithoutTrust(t, srv.URL())
	callOverHTTPS(t, is.Leaf,
		func(b *browser, name string) { b.enrol(srv.URL(), name) },
		func(name string) string { return srv.URL() + "/call/tls?name=" + name + "&autojoin=1" })
}
