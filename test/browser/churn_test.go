package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/servertest"
)

// Advisers called in and sent out one after another: the browser that stays
// decodes each one's video, under each one's name, sees each one's tile go,
// and the call goes on. Every visitor's video comes on the same reused mid
// (docs/PROTOCOL.md, "Reused m-lines"), decrypted with that visitor's key,
// and the page's SDP keeps its own two m-lines and one visitor's two.
func TestBrowserThroughChurn(t *testing.T) {
	srv := startServer(t)
	p := newBrowser(t, "principal", 1280, 720)
	p.open(srv.URL() + "/call/long?name=principal&autojoin=1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	const visits = 5
	mids := map[string]bool{}
	for i := 0; i < visits; i++ {
		name := fmt.Sprintf("adviser%d", i)
		c, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "long", Device: enrolDevice(t, srv, name), Publish: true})
		if err != nil {
			t.Fatalf("%s joins: %v", name, err)
		}
		p.waitVideoGrowing(name)
		tiles := p.videosFrom(name)
		if len(tiles) != 1 {
			t.Fatalf("%d video tiles named %s", len(tiles), name)
		}
		mids[tiles[0].Mid] = true
		if err := c.Leave(ctx); err != nil {
			t.Fatalf("%s leaves: %v", name, err)
		}
		c.Close()
		servertest.Eventually(t, name+"'s tile to go", func() (bool, string) {
			if tiles := p.videosFrom(name); len(tiles) != 0 {
				return false, fmt.Sprintf("%d tiles from %s", len(tiles), name)
			}
			return true, ""
		})
	}
	sdp := eval[string](p, `window.hotline.sdp().local || ""`)
	if sdp == "" {
		t.Fatal("no local description")
	}
	mlines := strings.Count(sdp, "\nm=")
	t.Logf("after %d visits: local SDP %d bytes, %d m-lines (%d bytes per m-line); visitors' video on mids %v", visits, len(sdp), mlines, len(sdp)/mlines, mids)
	if len(mids) != 1 {
		t.Errorf("visitors' video came on mids %v, want one reused mid", mids)
	}
	if mlines > 4 {
		t.Errorf("%d m-lines after %d visits, want at most 4", mlines, visits)
	}
	p.checkClean()
}
