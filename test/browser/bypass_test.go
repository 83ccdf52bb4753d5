package browser

import (
	"fmt"
	"testing"

	"hotline/internal/servertest"
)

// bypassCall opens two browsers in one call with ?e2ee=bypass and waits
// until each decodes the other's camera; it returns each one's worker
// counters.
func bypassCall(t *testing.T) []frameCounts {
	srv := startServer(t)
	a := newBrowser(t, "a", 1280, 720)
	b := newBrowser(t, "b", 1280, 720)
	a.open(srv.URL() + "/call/x?name=a&autojoin=1&e2ee=bypass")
	b.open(srv.URL() + "/call/x?name=b&autojoin=1&e2ee=bypass")
	a.waitVideoGrowing("b")
	b.waitVideoGrowing("a")
	var out []frameCounts
	for _, br := range []*browser{a, b} {
		var f frameCounts
		servertest.Eventually(t, br.name+"'s worker to count video frames both ways", func() (bool, string) {
			f = br.frames()
			var in int64
			for _, d := range f.Decrypted {
				in += d["video"]
			}
			return f.Sent["video"] > 0 && in > 0, fmt.Sprintf("%+v", f)
		})
		br.checkClean()
		out = append(out, f)
	}
	return out
}
