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
// decodes each one's video, sees each one's tile go, and the call goes on.
// The size of its SDP after the visits is logged: ended m-lines stay in the
// session as inactive (docs/PROTOCOL.md), so this is the figure to watch.
func TestBrowserThroughChurn(t *testing.T) {
	srv := startServer(t)
	p := newBrowser(t, "principal", 1280, 720)
	p.open(srv.URL() + "/call/long?name=principal&autojoin=1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	const visits = 5
	for i := 0; i < visits; i++ {
		name := fmt.Sprintf("adviser%d", i)
		c, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "long", Device: enrolDevice(t, srv, name), Publish: true})
		if err != nil {
			t.Fatalf("%s joins: %v", name, err)
		}
		p.waitVideoGrowing(name)
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
	t.Logf("after %d visits: local SDP %d bytes, %d m-lines (%d bytes per m-line)", visits, len(sdp), mlines, len(sdp)/mlines)
	p.checkClean()
}
