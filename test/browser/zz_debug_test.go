package browser

import (
	"testing"
	"time"
)

func TestZZDebug(t *testing.T) {
	srv := startServer(t)
	a := newBrowser(t, "a", 1280, 720)
	b := newBrowser(t, "b", 1280, 720)
	a.open(srv.URL() + "/call/x?name=a&autojoin=1")
	b.open(srv.URL() + "/call/x?name=b&autojoin=1")
	time.Sleep(8 * time.Second)
	t.Logf("SDP a:\n%s", eval[string](a, `JSON.stringify(window.hotline.sdp(), null, 1)`))
	t.Logf("STATS a:\n%s", eval[string](a, `window.hotline.stats().then(s => JSON.stringify(s.filter(x => x.type.includes('rtp') || x.type==='codec'), null, 1))`))
}
