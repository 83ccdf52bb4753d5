package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/internal/booking"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// bookedCall reads the booked call as stored.
func bookedCall(t *testing.T, st *store.Store, id string) booking.Call {
	t.Helper()
	c, err := booking.New(st).Call(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bookingIs waits until the booked call is in state want.
func bookingIs(t *testing.T, l *e2eeLine, id string, want schedule.State) booking.Call {
	t.Helper()
	var c booking.Call
	servertest.Eventually(t, "the booked call "+string(want), func() error {
		if c = bookedCall(t, l.srv.Store(), id); c.State != want {
			return fmt.Errorf("it is %s", c.State)
		}
		return nil
	})
	return c
}

// tryJoin joins and returns the error (a client that joins closes with the test).
func (l *e2eeLine) tryJoin(id string, dev *trust.Device, mod func(*client.Config)) (*client.Client, error) {
	cfg := client.Config{Server: l.srv.URL(), Line: demo.Line, Call: id, Device: dev, Publish: true, AudioOnly: true, Logger: servertest.Logger()}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, err := client.Join(ctx, cfg)
	if err == nil {
		l.t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// TestRefusedJoinsLeaveTheBooking (issue 16): the gate only checks; a join
// that the live call refuses after it (a camera in a phone call, a full
// call) and members waiting in the lobby leave the
// booked call accepted. The first member in starts it.
func TestRefusedJoinsLeaveTheBooking(t *testing.T) {
	l := startLineWith(t, server.Config{MaxParticipants: 2})
	id := bookCall(t, l, schedule.Phone)
	accepted := func(after string) {
		t.Helper()
		if c := bookedCall(t, l.srv.Store(), id); c.State != schedule.StateAccepted || !c.ActualStart.IsZero() {
			t.Fatalf("after %s the booked call is %s (started %v)", after, c.State, c.ActualStart)
		}
	}
	refused := func(what, code string, dev *trust.Device, mod func(*client.Config)) {
		t.Helper()
		_, err := l.tryJoin(id, dev, mod)
		var se *client.ServerError
		if !errors.As(err, &se) || se.Msg.Code != code {
			t.Fatalf("%s: %v, want %s", what, err, code)
		}
		accepted(what)
	}
	principal := l.device(demo.East, "East Principal", role.Principal)
	refused("a camera in a phone call", protocol.CodeForbidden, principal, func(c *client.Config) { c.AudioOnly, c.Cameras = false, 1 })

	guest := l.device(demo.East, "Guest Adviser", role.Adviser)
	g, err := l.tryJoin(id, guest, nil)
	if err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the guest in the lobby", func() error { return stateOf(g, g.ID(), protocol.StateWaiting) })
	accepted("a guest waiting in the lobby")
	// (The same device joining again is no refusal: it replaces its first
	// session; test/resilience's TestRejoinReplacesStaleSession.)
	if _, err := l.tryJoin(id, l.device(demo.West, "West Adviser", role.Adviser), nil); err != nil {
		t.Fatal(err)
	}
	refused("a full call", protocol.CodeRefused, principal, nil)

	// Nothing was stored for the refusals: two stays, both open.
	// (Attendance is written off the call's lock, a moment later.)
	servertest.Eventually(t, "two stays", func() error {
		att, err := l.srv.Store().Attendance(context.Background(), booking.LiveName(demo.Line, id), 10)
		if err != nil || len(att) != 2 {
			return fmt.Errorf("attendance %+v %v", att, err)
		}
		return nil
	})
	g.Close()
	if _, err := l.tryJoin(id, principal, nil); err != nil {
		// The guest's departure may not have reached the call yet.
		servertest.Eventually(t, "the principal joins once there is room", func() error {
			_, err := l.tryJoin(id, principal, nil)
			return err
		})
	}
	c := bookingIs(t, l, id, schedule.StateLive)
	if h := c.History[len(c.History)-1]; h.Event != schedule.EventStart || h.BySide != demo.East || h.ByName != booking.SystemName {
		t.Fatalf("started by %+v", h)
	}
}

// TestEveryoneDropsAndComesBack (issue 16, with issue 9): everyone leaving
// a live call does not end the talks: within the grace the call stays open
// and the booking live, and the members come back to the same call.
// Only past the grace, with nobody in it, does the call close and the
// booking end, with the real duration.
func TestEveryoneDropsAndComesBack(t *testing.T) {
	l := startLineWith(t, server.Config{EmptyCallGrace: time.Hour})
	id := bookCall(t, l, schedule.Video)
	east := l.device(demo.East, "East Principal", role.Principal)
	west := l.device(demo.West, "West Principal", role.Principal)
	a, _ := l.tryJoin(id, east, nil)
	b, _ := l.tryJoin(id, west, nil)
	started := bookingIs(t, l, id, schedule.StateLive).ActualStart
	a.Close()
	b.Close()
	servertest.Eventually(t, "everyone gone", func() error {
		if n := l.srv.Registry().Participants(); n != 0 {
			return fmt.Errorf("%d participants", n)
		}
		return nil
	})
	if n := l.srv.Registry().CallCount(); n != 1 {
		t.Fatalf("%d live calls within the grace", n)
	}
	if c := bookedCall(t, l.srv.Store(), id); c.State != schedule.StateLive || !c.ActualStart.Equal(started) {
		t.Fatalf("within the grace the booked call is %s since %v", c.State, c.ActualStart)
	}
	for _, dev := range []*trust.Device{east, west} {
		if _, err := l.tryJoin(id, dev, nil); err != nil {
			t.Fatalf("coming back: %v", err)
		}
	}
	if c := bookedCall(t, l.srv.Store(), id); c.State != schedule.StateLive || !c.ActualStart.Equal(started) {
		t.Fatalf("after coming back the booked call is %s since %v", c.State, c.ActualStart)
	}
}

// TestEmptyCallEndsTheBooking: with nobody in it for the grace, the live
// call closes and its booked call ends; nobody joins it again.
func TestEmptyCallEndsTheBooking(t *testing.T) {
	l := startLineWith(t, server.Config{EmptyCallGrace: 50 * time.Millisecond})
	id := bookCall(t, l, schedule.Video)
	a, _ := l.tryJoin(id, l.device(demo.East, "East Principal", role.Principal), nil)
	bookingIs(t, l, id, schedule.StateLive)
	a.Close()
	c := bookingIs(t, l, id, schedule.StateEnded)
	if d := c.ActualEnd.Sub(c.ActualStart); d <= 0 {
		t.Fatalf("duration %v", d)
	}
	if h := c.History[len(c.History)-1]; h.BySide != demo.East || h.ByName != booking.SystemName {
		t.Fatalf("ended by %+v", h)
	}
	att, _ := l.srv.Store().Attendance(context.Background(), booking.LiveName(demo.Line, id), 10)
	if len(att) != 1 || att[0].Left.IsZero() {
		t.Fatalf("attendance %+v", att)
	}
	if _, err := l.tryJoin(id, l.device(demo.West, "West Principal", role.Principal), nil); err == nil {
		t.Fatal("joined an ended call")
	}
}

// TestRestartResumesTheCall (issue 16, with issue 9): a booked call live
// when the server stops stays live; the restarted server takes its members
// back into it, and closes it (ending the booking) only if nobody comes
// back within the grace.
func TestRestartResumesTheCall(t *testing.T) {
	dir := t.TempDir()
	l := startLineWith(t, server.Config{DataDir: dir, EmptyCallGrace: time.Hour})
	id := bookCall(t, l, schedule.Video)
	dev := l.device(demo.East, "East Principal", role.Principal)
	a, _ := l.tryJoin(id, dev, nil)
	bookingIs(t, l, id, schedule.StateLive)
	if err := l.srv.Close(); err != nil {
		t.Fatal(err)
	}
	a.Close()

	l = startLineWith(t, server.Config{DataDir: dir, EmptyCallGrace: time.Hour})
	if got := l.srv.Registry().Calls(); len(got) != 1 || got[0] != booking.LiveName(demo.Line, id) {
		t.Fatalf("live calls after the restart: %v", got)
	}
	if _, err := l.tryJoin(id, dev, nil); err != nil {
		t.Fatalf("back after the restart: %v", err)
	}
	if c := bookedCall(t, l.srv.Store(), id); c.State != schedule.StateLive {
		t.Fatalf("the booked call is %s after the restart", c.State)
	}
	if err := l.srv.Close(); err != nil {
		t.Fatal(err)
	}

	// Nobody comes back to the next server: the grace ends the booking.
	l = startLineWith(t, server.Config{DataDir: dir, EmptyCallGrace: 50 * time.Millisecond})
	bookingIs(t, l, id, schedule.StateEnded)
	if n := l.srv.Registry().CallCount(); n != 0 {
		t.Fatalf("%d live calls", n)
	}
}

// TestEndedOnTheWire (docs/PROTOCOL.md, "End of a call"): a live call
// ended for everyone sends each member `ended` with who and why, then
// closes its connection with 4001; a join of that call is refused.
func TestEndedOnTheWire(t *testing.T) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	c, ctx, nonce := rawSession(t, srv)
	write(t, ctx, c, joinJSON(t, demoDevice(t, srv, "wire"), nonce, "wire-end", nil))
	if _, ok := readMsg(t, ctx, c).(*protocol.Welcome); !ok {
		t.Fatal("not welcomed")
	}
	if !srv.Registry().End(callKey("wire-end"), "Tester (east)", "the test is over") {
		t.Fatal("no live call to end")
	}
	for {
		msg := readMsg(t, ctx, c)
		if e, ok := msg.(*protocol.Ended); ok {
			if e.By != "Tester (east)" || e.Reason != "the test is over" {
				t.Fatalf("ended %+v", e)
			}
			break
		}
		if _, ok := msg.(*protocol.ErrorMsg); ok {
			t.Fatalf("an error before ended: %+v", msg)
		}
	}
	expectClosed(t, ctx, c, websocket.StatusCode(protocol.CloseEnded))

	c2, ctx2, nonce2 := rawSession(t, srv)
	write(t, ctx2, c2, joinJSON(t, demoDevice(t, srv, "late"), nonce2, "wire-end", nil))
	expectError(t, ctx2, c2, protocol.CodeRefused)
	expectClosed(t, ctx2, c2, websocket.StatusNormalClosure)
}
