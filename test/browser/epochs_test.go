package browser

import (
	"context"
	"fmt"
	"testing"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/servertest"
)

// TestBrowserRejoinAtEpochExhaustion (issue 10, item 4): a page whose sender
// used its last epoch stops sending, leaves and joins again by itself; its
// new stay (a new participant id) has a new sender tag, epochs from 0, and
// a native member decrypts it again. epochs=2 (the kiosk's test knob)
// stands in for 65,536: two departures exhaust the first stay.
func TestBrowserRejoinAtEpochExhaustion(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	join := func(name string) *client.Client {
		c, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "ex", Device: enrolDevice(t, srv, name), Publish: true})
		if err != nil {
			t.Fatalf("%s joins: %v", name, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	bob := join("bob")
	web := newBrowser(t, "web", 1280, 720)
	web.open(srv.URL() + "/call/ex?name=web&autojoin=1&epochs=2")
	web.waitVideoGrowing("bob")
	decrypts := func(id string) func() (bool, string) {
		return func() (bool, string) {
			for _, ts := range bob.Stats().Tracks {
				if ts.Participant == id && ts.Kind == protocol.KindVideo && ts.Decrypted >= 10 {
					return true, ""
				}
			}
			return false, "bob has decrypted no video of " + id
		}
	}
	first := web.state().ID
	servertest.Eventually(t, "bob decrypts the page", decrypts(first))
	kid := func() float64 { return eval[float64](web, `window.hotline.state().e2ee?.kid ?? -1`) }
	kid0 := kid()
	for i := range 2 {
		carol := join(fmt.Sprintf("carol %d", i))
		servertest.Eventually(t, "the page holds carol's key", func() (bool, string) {
			n := eval[int](web, `(window.hotline.state().e2ee?.members ?? []).filter((m) => m.verified).length`)
			return n >= 3, fmt.Sprintf("%d verified members", n)
		})
		carol.Close()
		if i == 0 {
			servertest.Eventually(t, "the page at epoch 1", func() (bool, string) {
				return int64(kid())%65536 == 1, fmt.Sprintf("kid %v", kid())
			})
		}
	}
	servertest.Eventually(t, "the page joined again", func() (bool, string) {
		s := web.state()
		sessions := eval[int](web, `window.hotline.state().sessions`)
		return s.Joined && s.ID != first && sessions == 2, fmt.Sprintf("joined %v as %s (first %s), %d sessions", s.Joined, s.ID, first, sessions)
	})
	next := web.state().ID
	servertest.Eventually(t, "bob decrypts the page's next stay", decrypts(next))
	k := int64(kid())
	if k%65536 != 0 || k/65536 == int64(kid0)/65536 {
		t.Errorf("next stay's KID %d (epoch %d, tag %x); the first stay's tag %x", k, k%65536, k/65536, int64(kid0)/65536)
	}
	web.checkClean()
}
