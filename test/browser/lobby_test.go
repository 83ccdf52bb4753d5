package browser

import (
	"fmt"
	"testing"

	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/servertest"
)

// holdOf is what b's stage says instead of tiles ("" when it shows tiles).
func (b *browser) holdOf() string {
	b.t.Helper()
	return eval[string](b, `document.getElementById('hold').hidden ? '' : document.getElementById('hold').dataset.state`)
}

// hasVideoFrom: b shows a tile of name decoding video.
func (b *browser) hasVideoFrom(name string) bool {
	b.t.Helper()
	frames, _, ok := b.state().videoFrom(name)
	return ok && frames > 0
}

// TestOperatorAdmitsAndPrincipalCallsIn (issue "Call workflow"): an east
// adviser waits in the lobby, sees that it waits and nothing of the call;
// the east operator, whose page receives no media, admits it through its
// participants panel, and both principals' browsers show the adviser; the
// east principal sends it out to the bench (both stop showing it) and calls
// it back in (both show it again). The west principal is offered none of
// these actions on the east side's adviser.
func TestOperatorAdmitsAndPrincipalCallsIn(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	op := newBrowser(t, "operator", 1280, 720)
	east := newBrowser(t, "east", 1280, 720)
	west := newBrowser(t, "west", 1280, 720)
	adv := newBrowser(t, "adviser", 1280, 720)
	op.enrolAs(base, demo.East, "East Operator", role.Operator)
	east.enrolAs(base, demo.East, "East Principal", role.Principal)
	west.enrolAs(base, demo.West, "West Principal", role.Principal)
	adv.enrolAs(base, demo.East, "East Adviser", role.Adviser)
	for _, b := range []*browser{op, east, west, adv} {
		b.open(base + "/call/lobby?autojoin=1")
	}
	east.waitVideoGrowing("West Principal")
	servertest.Eventually(t, "the adviser's page to say it waits", func() (bool, string) {
		h := adv.holdOf()
		return h == "waiting", h
	})
	servertest.Eventually(t, "the operator's page to show the operator view", func() (bool, string) {
		h := op.holdOf()
		return h == "in", h
	})
	if s := adv.state(); len(s.Tiles) != 0 {
		t.Errorf("the adviser in the lobby shows %d tiles", len(s.Tiles))
	}
	if east.hasVideoFrom("East Adviser") || west.hasVideoFrom("East Adviser") {
		t.Error("a principal shows the adviser who waits in the lobby")
	}
	advID := adv.state().ID
	if n := eval[int](west, fmt.Sprintf(`document.querySelectorAll('#roster li[data-id=%q] button').length`, advID)); n != 0 {
		t.Errorf("the west principal is offered %d actions on the east adviser", n)
	}

	op.actThroughPage(adv, "admit")
	for _, b := range []*browser{east, west} {
		b.waitVideoGrowing("East Adviser")
	}
	servertest.Eventually(t, "the adviser's stage to show the call", func() (bool, string) {
		h := adv.holdOf()
		return h == "", h
	})
	adv.waitVideoGrowing("West Principal")

	east.actThroughPage(adv, "send_out")
	for _, b := range []*browser{east, west} {
		servertest.Eventually(t, b.name+" to stop showing the adviser", func() (bool, string) {
			for _, tile := range b.state().Tiles {
				if tile.Name == "East Adviser" {
					return false, fmt.Sprintf("%+v", tile)
				}
			}
			return true, ""
		})
	}
	servertest.Eventually(t, "the adviser's page to say it is on the bench", func() (bool, string) {
		h := adv.holdOf()
		return h == "bench", h
	})

	east.actThroughPage(adv, "call_in")
	for _, b := range []*browser{east, west} {
		b.waitVideoGrowing("East Adviser")
	}
	if s := op.state(); len(s.Tiles) != 0 {
		t.Errorf("the operator shows %d tiles: operators receive no media", len(s.Tiles))
	}
	// Nor does it send keys, which no member would accept (PROTOCOL.md,
	// "Keys follow the media").
	if n := op.e2ee().KeysSent; n != 0 {
		t.Errorf("the operator's page sent %d keys", n)
	}
	for _, b := range []*browser{op, east, west, adv} {
		b.checkClean()
	}
}

// TestPhoneCallScreen (issue "Call workflow"): in a booked phone call, two
// principals' browsers send no camera, show the call screen with the other's
// name and the running duration instead of tiles, and hear each other.
func TestPhoneCallScreen(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	c := bookCall(t, srv.Server, schedule.Phone)
	east := newBrowser(t, "east", 1280, 720)
	west := newBrowser(t, "west", 1280, 720)
	east.enrolAs(base, demo.East, "East Principal", role.Principal)
	west.enrolAs(base, demo.West, "West Principal", role.Principal)
	east.open(base + "/call/" + c.ID + "?autojoin=1")
	west.open(base + "/call/" + c.ID + "?autojoin=1")
	for _, p := range []struct {
		b     *browser
		other string
	}{{east, "West Principal"}, {west, "East Principal"}} {
		p.b.waitAudio(p.other)
		servertest.Eventually(t, p.b.name+"'s call screen to name "+p.other, func() (bool, string) {
			names := eval[string](p.b, `document.getElementById('phone').hidden ? '' : document.getElementById('phone-names').textContent`)
			return names == p.other, names
		})
		s := eval[struct {
			Phone bool `json:"phone"`
			Local struct {
				Camera bool `json:"camera"`
			} `json:"local"`
		}](p.b, `window.hotline.state()`)
		if !s.Phone || s.Local.Camera {
			t.Errorf("%s: phone %v, camera %v", p.b.name, s.Phone, s.Local.Camera)
		}
		if vis := eval[string](p.b, `getComputedStyle(document.getElementById('tiles')).visibility`); vis != "hidden" {
			t.Errorf("%s shows tiles in a phone call (%s)", p.b.name, vis)
		}
		servertest.Eventually(t, p.b.name+"'s call screen to count the duration", func() (bool, string) {
			d := eval[string](p.b, `document.getElementById('phone-duration').textContent`)
			return d != "" && d != "00:00", d
		})
		p.b.checkClean()
	}
}
