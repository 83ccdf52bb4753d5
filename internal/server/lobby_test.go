package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/servertest"
)

// bookCall requests a call from the east principal and has the west
// principal accept it, as the API does; named are east's people on it.
func bookCall(t *testing.T, l *e2eeLine, kind schedule.Kind, named ...api.Person) string {
	t.Helper()
	return bookRequest(t, l, api.Request{Line: demo.Line, Kind: kind, When: "now", Duration: time.Hour, Named: named})
}

// bookRequest books req as the East Principal; the West Principal accepts.
func bookRequest(t *testing.T, l *e2eeLine, req api.Request) string {
	t.Helper()
	ctx := context.Background()
	svc := booking.New(l.srv.Store())
	east := booking.Caller{Line: demo.Line, Side: demo.East, Name: "East Principal", Roles: []role.Role{role.Principal}}
	west := booking.Caller{Line: demo.Line, Side: demo.West, Name: "West Principal", Roles: []role.Role{role.Principal}}
	c, _, err := svc.Request(ctx, east, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, west, c.ID, schedule.EventAccept, api.Transition{}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// decryptedFrom sums what c decrypted from participant id.
func decryptedFrom(c *client.Client, id string) (video, audio uint64) {
	for _, tr := range c.Stats().Tracks {
		if tr.Participant != id {
			continue
		}
		if tr.Kind == protocol.KindVideo {
			video += tr.Decrypted
		} else {
			audio += tr.Decrypted
		}
	}
	return video, audio
}

// TestLobbyAndAdvisers (issue "Call workflow"): in a booked call, an
// unnamed adviser waits in the lobby and gets no media until the east
// operator admits it; the adviser named on the call waits on the bench, is
// called in by the principal with one action, receives and is received, and
// is sent back out, after which it receives nothing more and the others
// rekey; the operator receives no media at all; the call went live with the
// first join.
func TestLobbyAndAdvisers(t *testing.T) {
	l := startE2EELine(t)
	id := bookCall(t, l, schedule.Video, api.Person{Name: "Named Adviser", Roles: []role.Role{role.Adviser}})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()

	alice := l.joinAs(id, demo.East, "East Principal", []role.Role{role.Principal}, nil)
	walt := l.joinAs(id, demo.West, "West Principal", []role.Role{role.Principal}, nil)
	op := l.joinAs(id, demo.East, "East Operator", []role.Role{role.Operator}, func(c *client.Config) { c.Publish = false })
	guest := l.joinAs(id, demo.East, "Guest Adviser", []role.Role{role.Adviser}, nil)
	named := l.joinAs(id, demo.East, "Named Adviser", []role.Role{role.Adviser}, nil)
	servertest.Eventually(t, "the initial states", func() error {
		for who, want := range map[*client.Client]string{alice: "in", walt: "in", op: "in", guest: "waiting", named: "bench"} {
			if err := stateOf(alice, who.ID(), want); err != nil {
				return err
			}
		}
		return nil
	})
	bookingIs(t, l, id, schedule.StateLive)
	servertest.Eventually(t, "the principals decrypt each other", func() error {
		if v, a := decryptedFrom(walt, alice.ID()); v < 10 || a < 10 {
			return fmt.Errorf("walt got %d video, %d audio frames from alice", v, a)
		}
		if v, a := decryptedFrom(alice, walt.ID()); v < 10 || a < 10 {
			return fmt.Errorf("alice got %d video, %d audio frames from walt", v, a)
		}
		return nil
	})
	// Nothing reaches the lobby, the bench or the operator, and nothing
	// leaves them.
	for _, c := range []*client.Client{guest, named, op} {
		if n := len(c.Stats().Tracks); n != 0 {
			t.Errorf("%s receives %d tracks", c.ID(), n)
		}
	}
	// The operator receives no media: nobody sends it a key, and it sends
	// none, since no member would accept it (PROTOCOL.md, "Keys follow the
	// media").
	if st := op.Keys().Stats(); st.KeysSent != 0 || st.KeysAccepted != 0 {
		t.Errorf("the operator sent %d keys and accepted %d", st.KeysSent, st.KeysAccepted)
	}
	if v, a := decryptedFrom(alice, guest.ID()); v+a != 0 {
		t.Errorf("alice received %d frames from the guest in the lobby", v+a)
	}

	// The west principal cannot admit an east guest; the east operator can.
	if err := walt.Admit(ctx, guest.ID()); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the west principal is refused", func() error {
		if e := lastError(walt); e == nil || e.Code != protocol.CodeForbidden {
			return fmt.Errorf("last error %+v", e)
		}
		return nil
	})
	if err := op.Admit(ctx, guest.ID()); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the admitted guest receives and is received", func() error {
		if v, _ := decryptedFrom(guest, walt.ID()); v < 5 {
			return fmt.Errorf("guest got %d video frames from walt", v)
		}
		if v, _ := decryptedFrom(walt, guest.ID()); v < 5 {
			return fmt.Errorf("walt got %d video frames from the guest", v)
		}
		return nil
	})

	// Call in the named adviser with one action, then send it out.
	if err := alice.CallIn(ctx, named.ID()); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the called-in adviser receives and is received", func() error {
		if v, _ := decryptedFrom(named, walt.ID()); v < 5 {
			return fmt.Errorf("named adviser got %d video frames from walt", v)
		}
		if v, _ := decryptedFrom(walt, named.ID()); v < 5 {
			return fmt.Errorf("walt got %d video frames from the named adviser", v)
		}
		return nil
	})
	epoch := alice.Keys().KID()
	if err := alice.SendOut(ctx, named.ID()); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the adviser back on the bench", func() error { return stateOf(walt, named.ID(), protocol.StateBench) })
	servertest.Eventually(t, "its tracks end at the adviser", func() error {
		for _, tr := range named.Stats().Tracks {
			if !tr.Ended {
				return fmt.Errorf("track %s from %s still live", tr.Track, tr.From)
			}
		}
		return nil
	})
	servertest.Eventually(t, "alice rekeys", func() error {
		if alice.Keys().KID() == epoch {
			return errors.New("same key")
		}
		return nil
	})
	newKID := alice.Keys().KID()
	servertest.Eventually(t, "walt holds alice's new key", func() error {
		if !walt.Keys().Receiver().HasKey(newKID) {
			return fmt.Errorf("not yet: KID %d", newKID)
		}
		return nil
	})
	if named.Keys().Receiver().HasKey(newKID) {
		t.Error("the adviser sent out holds alice's new key")
	}
	if n := len(op.Stats().Tracks); n != 0 {
		t.Errorf("the operator received %d tracks", n)
	}

	// Called in again, the adviser is heard again: it sends its key anew
	// (the others dropped it when it went out).
	before, _ := decryptedFrom(walt, named.ID())
	if err := alice.CallIn(ctx, named.ID()); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "walt decrypts the adviser again", func() error {
		if v, _ := decryptedFrom(walt, named.ID()); v < before+5 {
			return fmt.Errorf("%d video frames, %d before", v, before)
		}
		return nil
	})
}

// TestPhoneCallAndReceiveOnly: a booked phone call refuses a camera, at join
// and later; a monitor or the press may not publish at all; both refusals are forbidden
// errors and leave the call as it was.
func TestPhoneCallAndReceiveOnly(t *testing.T) {
	l := startE2EELine(t)
	id := bookCall(t, l, schedule.Phone)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()

	refused := func(name string, roles []role.Role, mod func(*client.Config)) {
		t.Helper()
		cfg := client.Config{Server: l.srv.URL(), Line: demo.Line, Call: id, Device: l.device(demo.East, name, roles...), Publish: true, Logger: servertest.Logger()}
		if mod != nil {
			mod(&cfg)
		}
		c, err := client.Join(ctx, cfg)
		var se *client.ServerError
		if err == nil {
			c.Close()
			t.Fatalf("%s joined", name)
		}
		if !errors.As(err, &se) || se.Msg.Code != protocol.CodeForbidden {
			t.Fatalf("%s: %v, want a forbidden error", name, err)
		}
	}
	refused("Camera Principal", []role.Role{role.Principal}, nil)
	refused("Loud Monitor", []role.Role{role.Monitor}, func(c *client.Config) { c.AudioOnly = true })
	refused("Talking Press", []role.Role{role.Press}, func(c *client.Config) { c.AudioOnly = true })

	alice := l.joinAs(id, demo.East, "East Principal", []role.Role{role.Principal}, func(c *client.Config) { c.AudioOnly = true })
	walt := l.joinAs(id, demo.West, "West Principal", []role.Role{role.Principal}, func(c *client.Config) { c.AudioOnly = true })
	mon := l.joinAs(id, demo.West, "West Monitor", []role.Role{role.Monitor}, func(c *client.Config) { c.Publish = false })
	// A wall monitor waits in the lobby like anyone else of its side.
	servertest.Eventually(t, "the monitor in the lobby", func() error { return stateOf(walt, mon.ID(), protocol.StateWaiting) })
	if err := walt.Admit(ctx, mon.ID()); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "voice both ways, and to the monitor", func() error {
		for _, pair := range [][2]*client.Client{{alice, walt}, {walt, alice}, {mon, alice}} {
			if _, a := decryptedFrom(pair[0], pair[1].ID()); a < 10 {
				return fmt.Errorf("%s got %d audio frames from %s: %+v", pair[0].ID(), a, pair[1].ID(), pair[0].Stats().Tracks)
			}
		}
		return nil
	})
	if err := alice.PublishCamera(ctx, "cam0", "camera"); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the camera refused", func() error {
		if e := lastError(alice); e == nil || e.Code != protocol.CodeForbidden || e.Ref != protocol.TypePublish {
			return fmt.Errorf("last error %+v", e)
		}
		return nil
	})
	for _, e := range walt.Roster() {
		for _, tr := range e.Tracks {
			if tr.Kind == protocol.KindVideo {
				t.Errorf("%s announces a video track in a phone call", e.Name)
			}
		}
	}
}
