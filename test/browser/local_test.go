package browser

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/certs"
	"hotline/internal/demo"
	"hotline/internal/httpapi"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/web"
)

// localClient serves the embedded client as `hotline open` does, on a
// loopback port, for the line server at srv; it returns the page's base URL.
func localClient(t *testing.T, ln net.Listener, srv string) string {
	t.Helper()
	u, err := web.ServerOrigin(srv)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: web.Local(u), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestLocalClientMode (THREAT_MODEL.md, "Local client mode"; issue 10):
// one Chromium runs the client served by its own binary on a loopback
// origin, listed for the demo line, against a remote line server over TLS
// (signalling over WSS, the API across origins, media straight to the
// SFU); it enrols there and calls a second Chromium that uses the page
// served by the server. Both decrypt each other's video, show the same
// verification code, and each page says where its code came from. The
// local page's schedule requests a call that the server's page lists. A
// page of the same client at an unlisted loopback origin gets neither the
// API nor the signalling socket. The server's /officer never offers to open
// an authority file; the binary's does.
func TestLocalClientMode(t *testing.T) {
	tier.Browser(t)
	dir := t.TempDir()
	is, err := certs.Init(dir, []string{"127.0.0.1", "localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mineLn, strangerLn := loopbackListener(t), loopbackListener(t)
	mine := "http://" + mineLn.Addr().String()
	srv := servertest.Start(t, server.Config{
		TLSCert: filepath.Join(dir, certs.CertFile), TLSKey: filepath.Join(dir, certs.KeyFile),
		LocalOrigins: httpapi.LocalOrigins{demo.Line: {mine}},
	}, testLogger(t))
	remote := srv.URL()
	if !strings.HasPrefix(remote, "https://") {
		t.Fatalf("server at %s, want https", remote)
	}
	localClient(t, mineLn, remote)
	stranger := localClient(t, strangerLn, remote)

	east := launch(t, "east", 1280, 720, 1, acceptingOnly(is.Leaf))
	west := launch(t, "west", 1280, 720, 1, acceptingOnly(is.Leaf))
	link := func(side, name string) demo.Link {
		l, err := demo.AddLink(context.Background(), srv.Store(), side, name, []role.Role{role.Principal})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	east.enrolWithLink(link(demo.East, "East Principal").URL(mine))
	west.enrolWithLink(link(demo.West, "West Principal").URL(remote))
	east.open(mine + "/call/local?autojoin=1")
	west.open(remote + "/call/local?autojoin=1")

	east.waitVideoGrowing("West Principal")
	west.waitVideoGrowing("East Principal")
	for b, from := range map[*browser]string{east: "West Principal", west: "East Principal"} {
		f := b.frames()
		n := int64(0)
		for _, c := range f.Decrypted {
			n += c["video"]
		}
		if n == 0 {
			t.Errorf("%s decrypted no video from %s: %+v", b.name, from, f)
		}
	}
	if code := sameCode(t, []*browser{east, west}, 2); code == "" {
		t.Fatal("no verification code")
	}

	type source struct{ Source, Text string }
	src := func(b *browser) source {
		return eval[source](b, `(() => { const e = document.getElementById('code-source'); return {source: e.dataset.source ?? '', text: e.textContent}; })()`)
	}
	if s := src(east); s.Source != "local" || !strings.Contains(s.Text, "from your own hotline binary") {
		t.Errorf("local page says %+v", s)
	}
	host := strings.TrimPrefix(remote, "https://")
	if s := src(west); s.Source != "server" || !strings.Contains(s.Text, "served by "+host) {
		t.Errorf("server's page says %+v", s)
	}
	east.screenshot(filepath.Join(shotDir(t), "local-call.png"))
	west.screenshot(filepath.Join(shotDir(t), "served-call.png"))
	// The keys of the local page's device are kept under its own origin.
	if got := eval[string](east, `location.origin`); got != mine {
		t.Errorf("the call page's origin is %s, want %s", got, mine)
	}

	// A page at an unlisted origin: the same client, the same server named
	// in its meta tag, refused by the server. The listed page, asked the
	// same, is answered (the control).
	probe := `(async () => {
	  const server = document.querySelector('meta[name="hotline-server"]').content;
	  const r = {};
	  try { const res = await fetch(server + '/api/session/challenge', {method: 'POST'}); r.fetch = 'status ' + res.status; }
	  catch { r.fetch = 'refused'; }
	  r.ws = await new Promise((done) => {
	    const ws = new WebSocket(server.replace(/^http/, 'ws') + '/ws');
	    ws.onopen = () => { ws.close(); done('open'); };
	    ws.onerror = () => done('refused');
	  });
	  return r;
	})()`
	type probed struct{ Fetch, WS string }
	if got := eval[probed](east, probe); got.Fetch != "status 200" || got.WS != "open" {
		t.Errorf("the listed origin's page: %+v, want answered", got)
	}
	foreign := launch(t, "foreign", 800, 600, 1, acceptingOnly(is.Leaf))
	foreign.open(stranger + "/")
	if got := eval[probed](foreign, probe); got.Fetch != "refused" || got.WS != "refused" {
		t.Errorf("a page at an unlisted origin: %+v, want both refused", got)
	}
	// And the server says why, to anyone who asks without a browser.
	req, _ := http.NewRequest(http.MethodPost, remote+"/api/session/challenge", nil)
	req.Header.Set("Origin", stranger)
	tlsConfig, err := certs.ClientConfig(filepath.Join(dir, certs.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	hc := certs.HTTPClient(tlsConfig, waitTimeout)
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("API from %s: %d %v, want 403 without CORS", stranger, res.StatusCode, res.Header)
	}
	east.checkClean()
	west.checkClean()

	// The schedule works from the binary's page too: it signs in across
	// origins and requests a call, which the server's page then shows.
	openSchedule(east, mine, "ready")
	requestThroughForm(east, "video", "in 2h", "30", "Opening statements", "", "")
	servertest.Eventually(t, "the request made on the local page is listed there", func() (bool, string) {
		n := eval[string](east, `document.getElementById('schedule-page').dataset.calls ?? ""`)
		return n == "1", n + " " + text(east, "sched-request-error")
	})
	openSchedule(west, remote, "ready")
	servertest.Eventually(t, "the server's page lists the call requested from the local page", func() (bool, string) {
		n := eval[string](west, `document.getElementById('schedule-page').dataset.calls ?? ""`)
		return n == "1", n
	})

	// The officer's page: served by the server it never asks for the
	// authority file and says where approval went; from the binary it does.
	officer := func(b *browser, base string) (state string, file bool) {
		b.open(base + "/officer")
		servertest.Eventually(t, "the officer page starts", func() (bool, string) {
			state = eval[string](b, `document.getElementById('officer-page').dataset.state ?? ''`)
			return state != "", state
		})
		return state, eval[bool](b, `document.getElementById('officer-file') !== null`)
	}
	if state, file := officer(west, remote); state != "moved" || file {
		t.Errorf("the server's /officer: state %q, file input %v; want moved, none", state, file)
	}
	west.screenshot(filepath.Join(shotDir(t), "served-officer.png"))
	if state, file := officer(east, mine); state != "locked" || !file {
		t.Errorf("the binary's /officer: state %q, file input %v; want locked, a file input", state, file)
	}
}
