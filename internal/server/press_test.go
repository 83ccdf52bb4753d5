package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/client"
	"hotline/internal/demo"
	segmarker "hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/servertest"
	"hotline/internal/sframe"
	"hotline/internal/trust"
)

// segmentAPI signs dev in to the demo line's calls API.
func segmentAPI(t *testing.T, l *e2eeLine, dev *trust.Device) *apiclient.Client {
	t.Helper()
	cl, err := apiclient.New(l.srv.URL(), &http.Client{Timeout: patience})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := cl.SignIn(ctx, dev, demo.Line); err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestPressCut (THREAT_MODEL.md, "the press decrypts nothing after the
// marker"): two principals publish; the press waits in the lobby with no
// keys while the call is private, takes part in the public segment that a
// principal opens with a signed marker, and after "go private" (a second
// marker) everyone moves to an epoch the press never gets. A tap that goes
// on feeding the press's SFrame receiver (every key it ever had) the frames
// forwarded after the cut decrypts none of them.
func TestPressCut(t *testing.T) {
	l := startE2EELine(t)
	const name = "press-cut"
	var forwarded, pressDecrypted frameLog
	aliceDev := l.device(demo.East, "Alice")
	a := joinWith(t, l.srv, name, "Alice", aliceDev, nil)
	b := l.join(name, demo.West, "Bob", nil)
	wall := l.join(name, demo.West, "Wall", func(c *client.Config) {
		c.Publish = false
		c.EncryptedTap = forwarded.add
	})
	press := l.joinAs(name, demo.East, "Reporter", []role.Role{role.Press}, func(c *client.Config) {
		c.Publish = false
		c.DecryptedTap = pressDecrypted.add
	})
	servertest.Eventually(t, "the wall decrypts both principals", func() error { return decryptedFromAll(wall.Stats(), 2, 10) })

	// Private: the press waits in the lobby and gets no key.
	servertest.Eventually(t, "the press waits in the lobby", func() error {
		return stateOf(a, press.ID(), protocol.StateWaiting)
	})
	if press.Keys().Stats().KeysAccepted != 0 {
		t.Fatalf("the press holds %d members' keys before the public segment", press.Keys().Stats().KeysAccepted)
	}

	api := segmentAPI(t, l, aliceDev)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if _, err := api.SetSegment(ctx, aliceDev, demo.Line, name, protocol.SegmentPublic); err != nil {
		t.Fatal("go public:", err)
	}
	servertest.Eventually(t, "the press decrypts both principals in the public segment", func() error {
		return decryptedFromAll(press.Stats(), 2, 20)
	})
	for _, c := range []*client.Client{a, b, wall, press} {
		if s, err := c.Keys().Segment(); s.Segment != protocol.SegmentPublic || err != nil {
			t.Fatalf("%s believes %q (%v)", c.ID(), s.Segment, err)
		}
	}
	epochA, epochB := a.Keys().KID(), b.Keys().KID()

	seg, err := api.SetSegment(ctx, aliceDev, demo.Line, name, protocol.SegmentPrivate)
	if err != nil {
		t.Fatal("go private:", err)
	}
	cut := time.UnixMilli(seg.Marker.At)
	servertest.Eventually(t, "both principals move to a new epoch", func() error {
		if a.Keys().KID() == epochA || b.Keys().KID() == epochB {
			return errors.New("an old epoch still in use")
		}
		return nil
	})
	newA, newB := a.Keys().KID(), b.Keys().KID()
	var fresh []tapped
	servertest.Eventually(t, "the wall receives frames of the new epochs", func() error {
		fresh = fresh[:0]
		for _, f := range forwarded.snapshot() {
			if k := kidOf(t, f); k == newA || k == newB {
				fresh = append(fresh, f)
			}
		}
		if len(fresh) < 40 {
			return fmt.Errorf("%d frames so far", len(fresh))
		}
		return nil
	})
	for _, c := range []*client.Client{a, b, wall, press} {
		if s, err := c.Keys().Segment(); s.Segment != protocol.SegmentPrivate || err != nil {
			t.Fatalf("%s believes %q (%v)", c.ID(), s.Segment, err)
		}
	}
	if err := stateOf(a, press.ID(), protocol.StateWaiting); err != nil {
		t.Fatal("after the cut the press is back in the lobby:", err)
	}
	opened := 0
	for _, f := range fresh {
		if _, _, err := press.Keys().Receiver().Decrypt(nil, kindOf(f.kind), f.data); err == nil {
			opened++
		} else if !errors.Is(err, sframe.ErrUnknownKID) {
			t.Errorf("press receiver: %v (want unknown KID)", err)
		}
	}
	var last time.Time
	for _, f := range pressDecrypted.snapshot() {
		if f.at.After(last) {
			last = f.at
		}
	}
	t.Logf("cut: %d frames after it fed to the press: %d decrypted; last frame the press decrypted %v after the marker",
		len(fresh), opened, last.Sub(cut).Round(time.Millisecond))
	if opened != 0 {
		t.Fatalf("the press decrypted %d frames after the cut", opened)
	}
	servertest.Eventually(t, "the wall decrypts the new epochs", func() error { return decryptedFromAll(wall.Stats(), 2, 10) })
}

// TestSegmentMarkerRefused: the API refuses a marker the clients would
// refuse (a forged signature, a signer whose roles may not run the public
// segment, another call's, out of order, or signed by another device than
// the session's), and nothing changes.
func TestSegmentMarkerRefused(t *testing.T) {
	l := startE2EELine(t)
	const name = "press-refused"
	aliceDev := l.device(demo.East, "Alice")
	joinWith(t, l.srv, name, "Alice", aliceDev, nil)
	api := segmentAPI(t, l, aliceDev)
	adviser := l.device(demo.East, "Adam", role.Adviser)
	officer := l.device(demo.East, "Olga", role.PressOfficer)
	now := time.Now()
	forged := segmarker.Sign(aliceDev, demo.Line, name, protocol.SegmentPublic, 1, now)
	forged.Seq = 2 // signed as 1
	tests := []struct {
		name   string
		m      protocol.Marker
		status int
	}{
		{"forged", forged, http.StatusBadRequest},
		{"an adviser's", segmarker.Sign(adviser, demo.Line, name, protocol.SegmentPublic, 1, now), http.StatusForbidden},
		{"another call's", segmarker.Sign(aliceDev, demo.Line, "other", protocol.SegmentPublic, 1, now), http.StatusBadRequest},
		{"out of order", segmarker.Sign(aliceDev, demo.Line, name, protocol.SegmentPublic, 2, now), http.StatusConflict},
		{"not private yet", segmarker.Sign(aliceDev, demo.Line, name, protocol.SegmentPrivate, 1, now), http.StatusConflict},
		{"another device's", segmarker.Sign(officer, demo.Line, name, protocol.SegmentPublic, 1, now), http.StatusForbidden},
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for _, tt := range tests {
		_, err := api.Do(ctx, "POST", "/api/live/"+demo.Line+"/"+name+"/segment", tt.m, nil)
		if got := apiclient.Status(err); got != tt.status {
			t.Errorf("%s: status %d (%v), want %d", tt.name, got, err, tt.status)
		}
	}
	if seg, m, err := l.srv.Registry().SegmentOf(demo.Line + "/" + name); seg != protocol.SegmentPrivate || m != nil || err != nil {
		t.Fatalf("after refused markers: %q %v %v", seg, m, err)
	}
	if _, err := api.Segment(ctx, demo.Line, "no-such-call"); apiclient.Status(err) != http.StatusNotFound {
		t.Errorf("segment of no live call: %v, want 404", err)
	}
}
