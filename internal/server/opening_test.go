package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/client"
	"hotline/internal/demo"
	segmarker "hotline/internal/marker"
	"hotline/internal/opening"
	"hotline/internal/protocol"
	"hotline/internal/record"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// runOpening runs the booked opening's client side for c (device dev)
// until the test ends.
func runOpening(t *testing.T, l *e2eeLine, c *client.Client, dev *trust.Device, call string, confirm func(time.Duration) bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	cfg := opening.Config{Client: func() *client.Client { return c }, Device: dev, API: segmentAPI(t, l, dev), Line: demo.Line, Call: call,
		Confirm: confirm, Log: servertest.Logger()}
	go func() {
		defer close(done)
		if err := opening.Run(ctx, cfg); err != nil {
			t.Errorf("opening: %v", err)
		}
	}()
}

// TestBookedOpening (issue 13): a call booked with a public opening (one
// booked minute lasting 5 s here). When it starts, the East Principal's
// client offers the opening ("Open to the press now?") and, confirmed,
// signs the marker that opens it; the press recorder records; when the
// booked length has passed since that marker, the principals' clients sign
// the marker that goes private by themselves (both try: the first is taken,
// the other refused as changing nothing), and the recorder is cut.
func TestBookedOpening(t *testing.T) {
	const minute = 5 * time.Second
	l := startLineWith(t, server.Config{OpeningMinute: minute})
	id := bookRequest(t, l, api.Request{Line: demo.Line, Kind: schedule.Video, When: "now", Duration: time.Hour, PublicOpening: time.Minute})
	eastDev := l.device(demo.East, "East Principal", role.Principal)
	westDev := l.device(demo.West, "West Principal", role.Principal)
	video := func(c *client.Config) { c.AudioOnly = false }
	east := joinWith(t, l.srv, id, "East Principal", eastDev, video)
	west := joinWith(t, l.srv, id, "West Principal", westDev, video)

	out := t.TempDir()
	results := make(chan error, 1)
	var res record.Result
	press := l.device(demo.East, "Press", role.Press)
	joined := make(chan *client.Client, 1)
	go func() {
		var err error
		res, err = record.Run(context.Background(), record.Config{Out: out, For: 3 * patience, Log: servertest.Logger(),
			Joined: func(c *client.Client) { joined <- c },
			Client: client.Config{Server: l.srv.URL(), Line: demo.Line, Call: id, Device: press, Logger: servertest.Logger()}})
		results <- err
	}()
	rc := <-joined
	servertest.Eventually(t, "the press waits in the lobby", func() error { return stateOf(east, rc.ID(), protocol.StateWaiting) })
	servertest.Eventually(t, "every client knows the booked opening", func() error {
		for _, c := range []*client.Client{east, west, rc} {
			if c.Opening() != minute {
				return fmt.Errorf("%s: %v", c.ID(), c.Opening())
			}
		}
		return nil
	})

	var mu sync.Mutex
	var asked []time.Duration
	runOpening(t, l, east, eastDev, id, func(booked time.Duration) bool {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, booked)
		return true
	})
	runOpening(t, l, west, westDev, id, nil) // closes too; never opens

	if err := <-results; err != nil {
		t.Fatal("record:", err)
	}
	if res.Open == nil || res.Cut == nil {
		t.Fatalf("the recorder saw open %v, cut %v", res.Open, res.Cut)
	}
	mu.Lock()
	if len(asked) != 1 || asked[0] != minute {
		t.Fatalf("the East Principal's client asked %v, want once with %v", asked, minute)
	}
	mu.Unlock()
	pins := eastDev.Pins
	now := time.Now()
	opener, err := segmarker.Verify(*res.Open, demo.Line, id, pins, now)
	if err != nil || opener.Name != "East Principal" || res.Open.Seq != 1 || res.Open.Segment != protocol.SegmentPublic {
		t.Fatalf("opening marker %+v by %v: %v", res.Open, opener, err)
	}
	closer, err := segmarker.Verify(*res.Cut, demo.Line, id, pins, now)
	if err != nil || res.Cut.Seq != 2 || res.Cut.Segment != protocol.SegmentPrivate {
		t.Fatalf("closing marker %+v: %v", res.Cut, err)
	}
	if d := time.Duration(res.Cut.At-res.Open.At) * time.Millisecond; d < minute {
		t.Fatalf("closed %v after the opening, before the booked %v", d, minute)
	}
	frames := 0
	for _, f := range res.Files {
		frames += f.Frames
	}
	if frames == 0 {
		t.Fatalf("the recorder recorded nothing: %+v", res.Files)
	}
	t.Logf("opened by %s, closed by %s %v later (booked %v); %d files, %d frames", opener.Name, closer.Name,
		time.Duration(res.Cut.At-res.Open.At)*time.Millisecond, minute, len(res.Files), frames)
	servertest.Eventually(t, "every principal private", func() error {
		for _, c := range []*client.Client{east, west} {
			if s, _ := c.Keys().Segment(); s.Segment != protocol.SegmentPrivate || s.Seq != 2 {
				return fmt.Errorf("%s believes %q (seq %d)", c.ID(), s.Segment, s.Seq)
			}
		}
		return nil
	})
}

// TestServerCannotOpen (THREAT_MODEL claim 24): a call booked with a public
// opening is not opened by the booking: while nobody confirms, every client
// stays private and the press gets no key. A server that forges the opening
// (a marker signed by a device of its own making, applied to the live call
// behind the API's check, as a compromised server would) changes nothing
// either: every client refuses it and stays private, and the press, let in
// by the server, gets no key.
func TestServerCannotOpen(t *testing.T) {
	l := startLineWith(t, server.Config{OpeningMinute: time.Second})
	id := bookRequest(t, l, api.Request{Line: demo.Line, Kind: schedule.Video, When: "now", Duration: time.Hour, PublicOpening: time.Minute})
	eastDev := l.device(demo.East, "East Principal", role.Principal)
	westDev := l.device(demo.West, "West Principal", role.Principal)
	east := joinWith(t, l.srv, id, "East Principal", eastDev, nil)
	west := joinWith(t, l.srv, id, "West Principal", westDev, nil)
	press := l.joinAs(id, demo.East, "Press", []role.Role{role.Press}, func(c *client.Config) { c.Publish = false })
	runOpening(t, l, east, eastDev, id, nil)
	runOpening(t, l, west, westDev, id, func(time.Duration) bool { return false })
	servertest.Eventually(t, "the booked opening reaches every client", func() error {
		for _, c := range []*client.Client{east, west, press} {
			if c.Opening() != time.Second {
				return fmt.Errorf("%s: %v", c.ID(), c.Opening())
			}
		}
		return nil
	})
	private := func(after string) {
		t.Helper()
		for _, c := range []*client.Client{east, west, press} {
			if s, _ := c.Keys().Segment(); s.Segment != protocol.SegmentPrivate || s.Seq != 0 {
				t.Fatalf("%s: %s believes %q (seq %d)", after, c.ID(), s.Segment, s.Seq)
			}
		}
		if n := press.Keys().Stats().KeysAccepted; n != 0 {
			t.Fatalf("%s: the press holds %d keys", after, n)
		}
	}
	private("the booking alone")

	// The server forges the opening: a marker by a principal's credential
	// that its own key signed (it has no member's private key).
	forger := l.device(demo.East, "Forger", role.Principal)
	m := segmarker.Sign(forger, demo.Line, id, protocol.SegmentPublic, 1, time.Now())
	m.Credential = l.credentialOf(east)
	if err := l.srv.Registry().SetSegment(booking.LiveName(demo.Line, id), m); err != nil {
		t.Fatal("the registry (behind the API's check) took no marker:", err)
	}
	servertest.Eventually(t, "every client refuses the forged opening", func() error {
		for _, c := range []*client.Client{east, west, press} {
			if _, err := c.Keys().Segment(); err == nil {
				return fmt.Errorf("%s has not refused it yet", c.ID())
			}
		}
		return nil
	})
	servertest.Eventually(t, "the server let the press in", func() error { return stateOf(east, press.ID(), protocol.StateIn) })
	private("a forged opening")
}
