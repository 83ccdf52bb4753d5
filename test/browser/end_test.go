package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// bookCall books a call for now on the demo line, requested by the east
// principal and accepted by the west principal, as the API does.
func bookCall(t *testing.T, srv *server.Server, kind schedule.Kind) booking.Call {
	t.Helper()
	return bookRequest(t, srv, api.Request{Line: demo.Line, Kind: kind, When: "now", Duration: time.Hour})
}

// bookRequest books req as the east principal; the west principal accepts.
func bookRequest(t *testing.T, srv *server.Server, req api.Request) booking.Call {
	t.Helper()
	ctx := context.Background()
	svc := booking.New(srv.Store())
	eastC := booking.Caller{Line: demo.Line, Side: demo.East, Name: "East Principal", Roles: []role.Role{role.Principal}}
	westC := booking.Caller{Line: demo.Line, Side: demo.West, Name: "West Principal", Roles: []role.Role{role.Principal}}
	c, _, err := svc.Request(ctx, eastC, req)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = svc.Transition(ctx, westC, c.ID, schedule.EventAccept, api.Transition{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEndCallFromSchedule (issue 16): the east operator ends a live booked
// call with End call on the schedule page; the live call ends everywhere:
// both principals' call pages say that the call has ended, by whom and why,
// and offer no Rejoin; the booking is ended with its real duration, and the
// schedule page moves it to the history as ended.
func TestEndCallFromSchedule(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	c := bookCall(t, srv.Server, schedule.Video)

	east := newBrowser(t, "east", 960, 600)
	west := newBrowser(t, "west", 960, 600)
	op := newBrowser(t, "operator", 1280, 1000)
	east.enrolAs(base, demo.East, "East Principal", role.Principal)
	west.enrolAs(base, demo.West, "West Principal", role.Principal)
	op.enrolAs(base, demo.East, "East Operator", role.Operator)
	east.open(base + "/call/" + c.ID + "?autojoin=1")
	west.open(base + "/call/" + c.ID + "?autojoin=1")
	east.waitVideoGrowing("West Principal")
	west.waitVideoGrowing("East Principal")

	openSchedule(op, base, "ready")
	waitSchedCard(op, c.ID, "live")
	// End call arms on the first click and ends on the second.
	op.do(chromedp.Click(schedCard(c.ID)+` [data-action="end"]`), chromedp.Click(schedCard(c.ID)+` [data-action="end"]`))

	for _, b := range []*browser{east, west} {
		servertest.Eventually(t, b.name+"'s page to say the call has ended", func() (bool, string) {
			shown := eval[string](b, `(() => { const o = document.getElementById('overlay');
				return o.hidden ? '' : o.dataset.reason + '|' + document.getElementById('overlay-title').textContent + '|' + document.getElementById('overlay-text').textContent; })()`)
			return strings.HasPrefix(shown, "ended|The call has ended|") && strings.Contains(shown, "East Operator (east)") &&
				strings.Contains(shown, "The call was ended"), shown
		})
		if eval[bool](b, `!document.getElementById('rejoin').hidden`) {
			t.Errorf("%s offers to rejoin an ended call", b.name)
		}
		if s := b.state(); len(s.Tiles) != 0 {
			t.Errorf("%s still shows %d tiles", b.name, len(s.Tiles))
		}
		b.checkClean()
	}
	east.screenshot(shotDir(t) + "/call-ended.png")

	bc, err := booking.New(srv.Store()).Call(context.Background(), c.ID)
	if err != nil || bc.State != schedule.StateEnded || bc.ActualStart.IsZero() || bc.ActualEnd.Before(bc.ActualStart) {
		t.Fatalf("the booking after End call: %s, %v to %v (%v)", bc.State, bc.ActualStart, bc.ActualEnd, err)
	}
	if n := srv.Registry().CallCount(); n != 0 {
		t.Errorf("%d live calls after End call", n)
	}
	servertest.Eventually(t, "the ended call in the operator's history", func() (bool, string) {
		s := eval[string](op, fmt.Sprintf(`document.querySelector('#sched-history [data-call-id=%q]')?.dataset.state ?? ""`, c.ID))
		return s == "ended" && schedCardState(op, c.ID) == "", s
	})
	op.checkClean()
	for _, b := range []*browser{east, west, op} {
		b.navigate("about:blank")
	}
}
