package browser

import (
	"fmt"
	"testing"

	"hotline/internal/demo"
	"hotline/internal/role"
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
	waitFor(t, "the adviser's page to say it waits", func() (bool, string) {
		h := adv.holdOf()
		return h == "waiting", h
	})
	waitFor(t, "the operator's page to show the operator view", func() (bool, string) {
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

	op.admitThroughPage(adv, "admit")
	for _, b := range []*browser{east, west} {
		b.waitVideoGrowing("East Adviser")
	}
	waitFor(t, "the adviser's stage to show the call", func() (bool, string) {
		h := adv.holdOf()
		return h == "", h
	})
	adv.waitVideoGrowing("West Principal")

	east.admitThroughPage(adv, "send_out")
	for _, b := range []*browser{east, west} {
		waitFor(t, b.name+" to stop showing the adviser", func() (bool, string) {
			for _, tile := range b.state().Tiles {
				if tile.Name == "East Adviser" {
					return false, fmt.Sprintf("%+v", tile)
				}
			}
			return true, ""
		})
	}
	waitFor(t, "the adviser's page to say it is on the bench", func() (bool, string) {
		h := adv.holdOf()
		return h == "bench", h
	})

	east.admitThroughPage(adv, "call_in")
	for _, b := range []*browser{east, west} {
		b.waitVideoGrowing("East Adviser")
	}
	if s := op.state(); len(s.Tiles) != 0 {
		t.Errorf("the operator shows %d tiles: operators receive no media", len(s.Tiles))
	}
	for _, b := range []*browser{op, east, west, adv} {
		b.checkClean()
	}
}
