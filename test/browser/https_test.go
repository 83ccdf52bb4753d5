package browser

import (
	"bufio"
	"context"
	"crypto/x509"
	"io"
	"net"
	neturl "net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/certs"
	"hotline/internal/demo"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/topology"
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
	chromedp.Cancel(stranger.ctx) // closes it now: at most two browsers at once after this
	if err == nil || !strings.Contains(err.Error(), "ERR_CERT") {
		t.Fatalf("a browser that does not trust the certificate loaded %s: %v", base, err)
	}
}

// siteServer is `hotline demo` running inside a site's namespace.
type siteServer struct {
	base  string            // https://10.77.N.1:PORT
	links map[string]string // enrolment link by the name it enrols
}

// startDemoInSite runs `hotline demo` with a TLS pair inside site, on the
// site's address, and reads the base URL and the enrolment links it prints.
func startDemoInSite(t *testing.T, site *topology.Site, certFile, keyFile string) *siteServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := site.Command(ctx, topology.Binary(t), "demo", "--listen", net.JoinHostPort(site.Addr.String(), "0"),
		"--udp-port", "0", "--data", t.TempDir(), "--tls-cert", certFile, "--tls-key", keyFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr servertest.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hotline demo in site %s: %v", site.Name, err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("hotline demo's log:\n%s", stderr.String())
		}
	})
	s := &siteServer{links: map[string]string{}}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "http://") {
			t.Errorf("hotline demo printed a plain link: %q", line)
		}
		for _, f := range strings.Fields(line) {
			u, err := neturl.Parse(f)
			if err != nil || u.Scheme != "https" {
				continue
			}
			if s.base == "" {
				s.base = u.Scheme + "://" + u.Host
			}
			if u.Path == "/enrol" {
				s.links[u.Query().Get("name")] = f
			}
		}
		if strings.Contains(line, "/schedule") {
			break // the last line of the demo's banner
		}
	}
	go io.Copy(io.Discard, stdout)
	if s.base == "" || len(s.links) == 0 {
		t.Fatalf("hotline demo printed no https base or links (%v):\n%s", sc.Err(), stderr.String())
	}
	if want := "https://" + site.Addr.String() + ":"; !strings.HasPrefix(s.base, want) {
		t.Fatalf("demo serves at %s, want %s…", s.base, want)
	}
	return s
}

// Two sites: the server (`hotline demo` with a `cert init` certificate for
// its address) in a namespace of its own, reached over a veth link; two
// browsers in the test's namespace enrol with the links it printed and call
// each other over https://, each decoding the other's media.
func TestBrowsersOverHTTPSAcrossSites(t *testing.T) {
	tier.Browser(t)
	tp := topology.New(t)
	site := tp.AddSite("tls")
	dir := t.TempDir()
	is, err := certs.Init(dir, []string{site.Addr.String()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := startDemoInSite(t, site, filepath.Join(dir, certs.CertFile), filepath.Join(dir, certs.KeyFile))
	refusedWithoutTrust(t, srv.base)

	// Two browsers that accept only that certificate enrol with the demo's
	// links, as two people would, and open the demo call.
	people := map[string]string{"a": "East Principal", "b": "West Principal"}
	a := launch(t, "a", 1280, 720, 1, acceptingOnly(is.Leaf))
	b := launch(t, "b", 1280, 720, 1, acceptingOnly(is.Leaf))
	for _, br := range []*browser{a, b} {
		link, ok := srv.links[people[br.name]]
		if !ok {
			t.Fatalf("no enrolment link for %s among %v", people[br.name], srv.links)
		}
		br.enrolWithLink(link)
		br.open(srv.base + "/call/" + demo.Call + "?autojoin=1")
		// The reason for HTTPS: off localhost only a secure context has
		// the camera and WebCrypto.
		if !eval[bool](br, `window.isSecureContext && location.protocol === "https:" && !!crypto.subtle && !!navigator.mediaDevices`) {
			t.Fatalf("%s: not a secure https:// context", br.name)
		}
	}
	for _, p := range []struct {
		viewer *browser
		other  string
	}{{a, people["b"]}, {b, people["a"]}} {
		f1, f2 := p.viewer.waitVideoGrowing(p.other)
		n := p.viewer.waitAudio(p.other)
		t.Logf("%s sees %s over https across sites: framesDecoded %d then %d; audio packetsReceived %d", p.viewer.name, p.other, f1, f2, n)
	}
	a.checkClean()
	b.checkClean()
}
