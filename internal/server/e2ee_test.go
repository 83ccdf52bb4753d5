package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"hotline/internal/call"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/servertest"
	"hotline/internal/sframe"
	"hotline/internal/trust"
)

var marker = []byte("HOTLINE-SECRET-MARKER-7f3a9c")

func withMarker(kind string, frame []byte) []byte { return append(frame, marker...) }

// TestServerBlind (THREAT_MODEL.md, "the server cannot see or hear the
// media"): two publishers put a known marker in every frame. What the SFU
// forwards, as a receive-only member taps it before decryption, never
// contains the marker; every receiver decrypts every frame and finds it.
// The same tap on a call without frame encryption does see the marker, so
// the tap works.
func TestServerBlind(t *testing.T) {
	l := startE2EELine(t)
	var forwarded, decrypted frameLog
	tap := func(c *client.Config) {
		c.EncryptedTap = forwarded.add
		c.DecryptedTap = decrypted.add
	}
	a := l.join("blind", demo.East, "Alice", func(c *client.Config) { c.FrameHook = withMarker })
	b := l.join("blind", demo.West, "Bob", func(c *client.Config) { c.FrameHook = withMarker })
	mon := l.join("blind", demo.West, "Wall", func(c *client.Config) { c.Publish = false; tap(c) })

	servertest.Eventually(t, "the monitor decrypts video and audio of both", func() error {
		return decryptedFromAll(mon.Stats(), 2, 20)
	})
	servertest.Eventually(t, "Alice and Bob decrypt each other", func() error {
		if err := decryptedFromAll(a.Stats(), 1, 20); err != nil {
			return err
		}
		return decryptedFromAll(b.Stats(), 1, 20)
	})
	hits, decs := 0, 0
	for _, f := range forwarded.snapshot() {
		if bytes.Contains(f.data, marker) {
			hits++
		}
	}
	for _, f := range decrypted.snapshot() {
		decs++
		if !bytes.HasSuffix(f.data, marker) {
			t.Fatalf("a decrypted %s frame from %s lacks the marker", f.kind, f.from)
		}
	}
	n := len(forwarded.snapshot())
	t.Logf("forwarded frames tapped: %d, marker hits in them: %d; frames decrypted: %d (all with the marker)", n, hits, decs)
	if hits != 0 {
		t.Fatalf("the marker appears in %d forwarded frames: the server can read the media", hits)
	}
	if n == 0 || decs == 0 {
		t.Fatal("nothing tapped")
	}
	codes := map[string]bool{}
	servertest.Eventually(t, "all three show the same verification code", func() error {
		clear(codes)
		for _, c := range []*client.Client{a, b, mon} {
			code, ok := c.Keys().Code()
			if !ok {
				return errors.New("a code is pending")
			}
			codes[code] = true
		}
		if len(codes) != 1 {
			return fmt.Errorf("codes differ: %v", codes)
		}
		return nil
	})
	t.Logf("verification code: %v", codes)

	// Control: without frame encryption the same tap sees the marker.
	var plain frameLog
	l.join("plain", demo.East, "Carol", func(c *client.Config) { c.FrameHook = withMarker; c.PlainFrames = true })
	l.join("plain", demo.West, "Dan", func(c *client.Config) { c.Publish = false; c.PlainFrames = true; c.EncryptedTap = plain.add })
	servertest.Eventually(t, "the plain tap sees the marker", func() error {
		for _, f := range plain.snapshot() {
			if bytes.Contains(f.data, marker) {
				return nil
			}
		}
		return errors.New("no marker yet")
	})
}

// decryptedFromAll checks that s decrypted at least min video and audio
// frames from each of n publishers.
func decryptedFromAll(s client.Stats, n int, min uint64) error {
	got := map[string]map[string]uint64{}
	for _, t := range s.Tracks {
		if got[t.Participant] == nil {
			got[t.Participant] = map[string]uint64{}
		}
		got[t.Participant][t.Kind] += t.Decrypted
		if t.WrongSender > 0 || t.DecryptFailed > 0 {
			return fmt.Errorf("track %s of %s: %d wrong-sender, %d failed frames", t.Track, t.From, t.WrongSender, t.DecryptFailed)
		}
	}
	ok := 0
	for _, kinds := range got {
		if kinds[protocol.KindVideo] >= min && kinds[protocol.KindAudio] >= min {
			ok++
		}
	}
	if ok < n {
		return fmt.Errorf("decrypted enough from %d of %d publishers: %v", ok, n, got)
	}
	return nil
}

// TestForgedMember (THREAT_MODEL.md, "the server cannot add a listener
// silently"): a test-only hook adds members to the call behind the clients'
// backs, as a compromised server would: one with a credential signed by a
// foreign authority, one that repeats a real member's credential. Honest
// clients send them no key, report them, and still talk to each other.
func TestForgedMember(t *testing.T) {
	l := startE2EELine(t)
	a := l.join("forged", demo.East, "Alice", nil)
	b := l.join("forged", demo.West, "Bob", nil)

	rogue, err := trust.NewAuthority(demo.East) // same side name, another key
	if err != nil {
		t.Fatal(err)
	}
	spy, _ := trust.NewDevice()
	req, _ := spy.Request(demo.East, "East Principal", []role.Role{role.Principal}, time.Now())
	cred, err := rogue.Sign(req, time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	forged := &fakeMember{id: "f0f0f0f0f0f0f0f0", name: "East Principal", device: trust.DeviceID(spy.SigPublic()),
		cred: protocol.Credential{Body: cred.Body, Sig: cred.Sig}}
	aCred := a.Keys().Self()
	_ = aCred
	copycat := &fakeMember{id: "c0c0c0c0c0c0c0c0", name: "Alice", device: "c0c0c0c0c0c0c0c0",
		cred: l.credentialOf(a)}
	for _, m := range []*fakeMember{forged, copycat} {
		id := call.Identity{ID: m.id, Name: m.name, Device: m.device, Credential: m.cred, Roles: []role.Role{role.Principal}}
		if _, err := l.srv.Registry().Join(demo.Line+"/forged", id, m); err != nil {
			t.Fatalf("inject %s: %v", m.name, err)
		}
	}
	servertest.Eventually(t, "both honest clients report both forgeries", func() error {
		for _, c := range []*client.Client{a, b} {
			fs := c.Keys().Forgeries()
			ids := map[string]bool{}
			for _, f := range fs {
				ids[f.ID] = true
			}
			if !ids[forged.id] || !ids[copycat.id] {
				return fmt.Errorf("%s reports %+v", c.Keys().Self().Name, fs)
			}
		}
		return nil
	})
	for _, f := range a.Keys().Forgeries() {
		t.Logf("Alice reports: %s %q: %s", f.ID, f.Name, f.Reason)
	}
	servertest.Eventually(t, "Alice and Bob decrypt each other", func() error {
		if err := decryptedFromAll(a.Stats(), 1, 10); err != nil {
			return err
		}
		return decryptedFromAll(b.Stats(), 1, 10)
	})
	// By now both have sent their keys to every verified member; none went
	// to the forged ones.
	if n := forged.keys.Load() + copycat.keys.Load(); n != 0 {
		t.Fatalf("forged members received %d key messages", n)
	}
	ca, _ := a.Keys().Code()
	cb, _ := b.Keys().Code()
	if ca == "" || ca != cb {
		t.Fatalf("codes %q and %q", ca, cb)
	}
}

// credentialOf is a client's credential as the roster shows it (once the
// roster has arrived).
func (l *e2eeLine) credentialOf(c *client.Client) protocol.Credential {
	var cred protocol.Credential
	servertest.Eventually(l.t, "own entry in the roster", func() error {
		for _, e := range c.Roster() {
			if e.ID == c.ID() {
				cred = e.Credential
				return nil
			}
		}
		return errors.New("not yet")
	})
	return cred
}

// fakeMember is a member the server adds on its own: it has no connection,
// sends nothing, and counts the keys it is sent.
type fakeMember struct {
	id, name, device string
	cred             protocol.Credential
	keys             atomic.Int64
}

func (f *fakeMember) Subscribe(call.Publication)    {}
func (f *fakeMember) Unsubscribe(call.Publication)  {}
func (f *fakeMember) RosterChanged(protocol.Roster) {}
func (f *fakeMember) DeliverKey(protocol.Key)       { f.keys.Add(1) }
func (f *fakeMember) Removed(string)                {}
func (f *fakeMember) Ended(string, string)          {}

// TestLeaverDecryptsNothingNew (THREAT_MODEL.md, "a participant who leaves
// can decrypt nothing sent after"): Carol takes part, then leaves. A tap
// that goes on feeding her (her SFrame receiver, with every key she ever
// had) the frames the SFU forwards decrypts none of the new epoch, which the
// remaining members decrypt. Replayed and tampered frames are refused.
func TestLeaverDecryptsNothingNew(t *testing.T) {
	l := startE2EELine(t)
	var forwarded frameLog
	a := l.join("leave", demo.East, "Alice", nil)
	b := l.join("leave", demo.West, "Bob", func(c *client.Config) { c.Publish = false; c.EncryptedTap = forwarded.add })
	carol := l.join("leave", demo.East, "Carol", nil)
	servertest.Eventually(t, "Carol decrypts Alice", func() error { return decryptedFromAll(carol.Stats(), 1, 10) })
	epoch0 := a.Keys().KID()

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := carol.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	servertest.Eventually(t, "Alice moves to a new epoch", func() error {
		if a.Keys().KID() == epoch0 {
			return errors.New("same kid")
		}
		return nil
	})
	newKID := a.Keys().KID()
	_, e0, _ := trust.SplitKID(epoch0)
	_, e1, _ := trust.SplitKID(newKID)
	var fresh []tapped
	servertest.Eventually(t, "Bob receives frames of Alice's new epoch", func() error {
		fresh = fresh[:0]
		for _, f := range forwarded.snapshot() {
			if f.at.After(left) && kidOf(t, f) == newKID {
				fresh = append(fresh, f)
			}
		}
		if len(fresh) < 20 {
			return fmt.Errorf("%d frames so far", len(fresh))
		}
		return nil
	})
	leaver := carol.Keys().Receiver()
	opened := 0
	for _, f := range fresh {
		if _, _, err := leaver.Decrypt(nil, kindOf(f.kind), f.data); err == nil {
			opened++
		} else if !errors.Is(err, sframe.ErrUnknownKID) {
			t.Errorf("leaver's receiver: %v (want unknown KID)", err)
		}
	}
	t.Logf("Alice's epoch %d → %d; %d frames of the new epoch fed to the departed member: %d decrypted", e0, e1, len(fresh), opened)
	if opened != 0 {
		t.Fatalf("the departed member decrypted %d frames of the new epoch", opened)
	}
	// Bob has Alice's new key once he has decrypted a frame under it (the
	// frames tapped above may have reached him before the key did).
	servertest.Eventually(t, "Bob decrypts Alice's new epoch", func() error {
		for _, ts := range b.Stats().Tracks {
			if ts.Participant == a.ID() && ts.LastKID == newKID {
				return nil
			}
		}
		return fmt.Errorf("no frame of kid %d decrypted: %+v", newKID, b.Stats().Tracks)
	})
	recv := b.Keys().Receiver()
	// Once through Bob's receiver (on the way in, or here if it came
	// before the key), a frame is a replay.
	f := fresh[len(fresh)-1]
	if _, _, err := recv.Decrypt(nil, kindOf(f.kind), f.data); err != nil && !errors.Is(err, sframe.ErrReplay) {
		t.Errorf("a frame of the new epoch: %v, want it decrypted or a replay", err)
	}
	if _, _, err := recv.Decrypt(nil, kindOf(f.kind), f.data); !errors.Is(err, sframe.ErrReplay) {
		t.Errorf("replayed frame: %v, want ErrReplay", err)
	}
	bad := append([]byte(nil), f.data...)
	bad[len(bad)-1] ^= 1
	if _, _, err := recv.Decrypt(nil, kindOf(f.kind), bad); !errors.Is(err, sframe.ErrAuth) {
		t.Errorf("tampered frame: %v, want ErrAuth", err)
	}
}

func kindOf(kind string) sframe.Kind {
	if kind == protocol.KindVideo {
		return sframe.Video
	}
	return sframe.Audio
}

func kidOf(t *testing.T, f tapped) uint64 {
	n := sframe.ClearBytes(kindOf(f.kind), f.data)
	kid, _, _, err := sframe.ParseHeader(f.data[n:])
	if err != nil {
		t.Fatalf("tapped frame: %v", err)
	}
	return kid
}
