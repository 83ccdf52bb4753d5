package browser

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/servertest"
)

// candidateView is one end of the page's selected ICE candidate pair, from
// getStats (W3C webrtc-stats, RTCIceCandidateStats).
type candidateView struct {
	CandidateType string `json:"candidateType"`
	Protocol      string `json:"protocol"`
	RelayProtocol string `json:"relayProtocol"`
	Address       string `json:"address"`
	Port          int    `json:"port"`
	TCPType       string `json:"tcpType"`
}

type pathView struct {
	Local  candidateView `json:"local"`
	Remote candidateView `json:"remote"`
}

func (p pathView) String() string {
	s := fmt.Sprintf("local %s %s %s:%d → remote %s %s %s:%d", p.Local.Protocol, p.Local.CandidateType, p.Local.Address, p.Local.Port,
		p.Remote.Protocol, p.Remote.CandidateType, p.Remote.Address, p.Remote.Port)
	if p.Local.RelayProtocol != "" {
		s += " (relay reached over " + p.Local.RelayProtocol + ")"
	}
	return s
}

// selectedPath reads the page's selected candidate pair (the transport's
// selectedCandidatePairId) and its two candidates; ok is false until ICE
// has selected one.
func (b *browser) selectedPath() (p pathView, ok bool) {
	b.t.Helper()
	v := eval[*pathView](b, `(async () => {
		const stats = await window.hotline.stats();
		const byId = new Map(stats.map((s) => [s.id, s]));
		const tr = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
		const pair = tr && byId.get(tr.selectedCandidatePairId);
		if (!pair) return null;
		const view = (c) => c && ({ candidateType: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol ?? '',
			address: c.address ?? c.ip ?? '', port: c.port, tcpType: c.tcpType ?? '' });
		return { local: view(byId.get(pair.localCandidateId)), remote: view(byId.get(pair.remoteCandidateId)) };
	})()`)
	if v == nil {
		return pathView{}, false
	}
	return *v, true
}

// relayOnly makes every RTCPeerConnection of the page use relay
// candidates alone (iceTransportPolicy "relay", W3C webrtc §4.2.1), as if
// the browser's network let nothing but the relay through: on loopback the
// nearest thing to a network without UDP, since the relay is reached over
// TCP only. (Chromium's --force-webrtc-ip-handling-policy=
// disable_non_proxied_udp was tried: it still took UDP on loopback.) The
// script runs before the page's own (DevTools, so no CSP applies).
func (b *browser) relayOnly() {
	b.t.Helper()
	const js = `(() => {
		const Native = window.RTCPeerConnection;
		const relay = (c) => ({ ...(c || {}), iceTransportPolicy: 'relay' });
		window.RTCPeerConnection = class extends Native {
			constructor(c) { super(relay(c)); }
			setConfiguration(c) { return super.setConfiguration(relay(c)); }
		};
	})()`
	if err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return err
	})); err != nil {
		b.t.Fatalf("%s: relay-only script: %v", b.name, err)
	}
}

// TestBrowserThroughRelay: a browser that can reach the server only
// through its TURN relay over TCP (relayOnly; the multi-site test blocks
// UDP for real) and a native endpoint on UDP receive each other's media,
// end to end encrypted; the test asserts and logs the browser's path.
func TestBrowserThroughRelay(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	native, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "walled", Device: enrolDevice(t, srv, "native"), Publish: true})
	if err != nil {
		t.Fatalf("native endpoint: join: %v", err)
	}
	t.Cleanup(func() { native.Close() })

	web := newBrowser(t, "web", 1280, 720)
	web.relayOnly()
	web.open(srv.URL() + "/call/walled?name=web&autojoin=1")
	f1, f2 := web.waitVideoGrowing("native")
	n := web.waitAudio("native")
	t.Logf("web sees native: framesDecoded %d then %d; audio packetsReceived %d", f1, f2, n)
	waitNativeDecrypts(t, native, "web")

	path, ok := web.selectedPath()
	if !ok {
		t.Fatal("the page has no selected candidate pair")
	}
	t.Logf("browser through the relay: %s", path)
	if path.Local.CandidateType != "relay" || !overTCP(path) {
		t.Fatalf("the browser's media path %s is not over TCP", path)
	}
	web.checkClean()
}

// overTCP: the browser talks to the server over TCP, either ICE-TCP to
// the server's TCP port or to the relay over TCP or TLS.
func overTCP(p pathView) bool {
	switch p.Local.CandidateType {
	case "relay":
		return p.Local.RelayProtocol == "tcp" || p.Local.RelayProtocol == "tls"
	case "host", "prflx":
		return p.Local.Protocol == "tcp" && p.Remote.Protocol == "tcp"
	}
	return false
}

// waitNativeDecrypts waits until the native endpoint has decrypted video
// frames and audio from the named participant, and more video after that.
func waitNativeDecrypts(t *testing.T, native *client.Client, from string) {
	t.Helper()
	count := func() (video, audio uint64) {
		for _, tr := range native.Stats().Tracks {
			if tr.From != from || tr.Ended {
				continue
			}
			switch tr.Kind {
			case "video":
				video += tr.Decrypted
			case "audio":
				audio += tr.Decrypted
			}
		}
		return video, audio
	}
	var first uint64
	servertest.Eventually(t, "the native endpoint to decrypt the browser's video and audio", func() (bool, string) {
		v, a := count()
		first = v
		return v > 0 && a > 0, fmt.Sprintf("%+v", native.Stats().Tracks)
	})
	servertest.Eventually(t, "the native endpoint's decrypted frames from the browser to grow", func() (bool, string) {
		v, _ := count()
		return v > first, fmt.Sprintf("decrypted video %d", v)
	})
	v, a := count()
	t.Logf("decrypted from %s: %d video frames, %d audio frames", from, v, a)
}
