package sframe

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
)

func TestClearBytes(t *testing.T) {
	for _, c := range []struct {
		kind  Kind
		frame []byte
		want  int
	}{
		{Video, vp8Key(100, "x"), 10},
		{Video, vp8Delta(100, "x"), 3},
		{Audio, opus(100, "x"), 1},
		{Video, vp8Key(4, ""), 4},   // shorter than its prefix: all clear
		{Video, vp8Delta(2, ""), 2}, // likewise
		{Video, nil, 0},
		{Audio, nil, 0},
		{Kind(0), vp8Key(100, "x"), 0}, // anything else: nothing clear
		{Kind(9), opus(10, "x"), 0},
	} {
		if got := ClearBytes(c.kind, c.frame); got != c.want {
			t.Errorf("ClearBytes(%v, % x...) = %d, want %d", c.kind, c.frame[:min(len(c.frame), 3)], got, c.want)
		}
	}
}

func TestParseHeaderRefuses(t *testing.T) {
	for _, b := range [][]byte{
		{},
		{0x80},             // 1-byte KID missing
		{0x08},             // 1-byte CTR missing
		{0xf0, 1, 2, 3},    // 8-byte KID cut short
		{0x80, 0x07},       // KID 7 in an extended field: not minimal
		{0x08, 0x00},       // CTR 0 likewise
		{0x90, 0x00, 0xff}, // 2-byte KID with a leading zero
		{0x0f, 0, 1, 2, 3, 4, 5, 6, 7},
	} {
		if _, _, _, err := ParseHeader(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseHeader(%x): %v, want ErrMalformed", b, err)
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	vals := []uint64{0, 1, 7, 8, 255, 256, 1<<16 - 1, 1 << 40, 1<<53 - 1, 1 << 53, math.MaxUint64 - 1, math.MaxUint64}
	for _, kid := range vals {
		for _, ctr := range vals {
			h := AppendHeader(nil, kid, ctr)
			if len(h) != HeaderLen(kid, ctr) || len(h) > MaxHeaderLen {
				t.Fatalf("(%d, %d): %d bytes", kid, ctr, len(h))
			}
			k, c, n, err := ParseHeader(h)
			if err != nil || k != kid || c != ctr || n != len(h) {
				t.Fatalf("(%d, %d) → %x → %d, %d, %d, %v", kid, ctr, h, k, c, n, err)
			}
		}
	}
}

func newPair(t testing.TB, kid uint64) (*Sender, *Receiver) {
	t.Helper()
	s, r := new(Sender), new(Receiver)
	if err := s.SetKey(kid, vecBaseKey(kid)); err != nil {
		t.Fatal(err)
	}
	if err := r.AddKey(kid, vecBaseKey(kid)); err != nil {
		t.Fatal(err)
	}
	return s, r
}

func TestRoundTrip(t *testing.T) {
	s, r := newPair(t, vecKIDLarge)
	for i, c := range []struct {
		kind  Kind
		frame []byte
	}{
		{Video, vp8Key(5000, "a")},
		{Video, vp8Delta(700, "b")},
		{Audio, opus(160, "c")},
		{Audio, opus(1, "")},
		{Audio, opus(0, "")},
		{Video, vp8Key(9, "")},
		{Video, vp8Key(1, "")},
		{Video, vp8Delta(1, "")},
		{Video, []byte{}},
		{Kind(0), vp8Key(50, "z")}, // no clear prefix at all
	} {
		enc, err := s.Encrypt([]byte("prefix"), c.kind, c.frame)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(enc, []byte("prefix")) {
			t.Fatalf("%d: Encrypt did not append to dst", i)
		}
		enc = enc[len("prefix"):]
		n := ClearBytes(c.kind, c.frame)
		if !bytes.Equal(enc[:n], c.frame[:n]) {
			t.Fatalf("%d: clear prefix not kept", i)
		}
		if want := len(c.frame) + HeaderLen(vecKIDLarge, uint64(i)) + TagLen; len(enc) != want {
			t.Fatalf("%d: %d bytes, want %d", i, len(enc), want)
		}
		kid, out, err := r.Decrypt([]byte("x"), c.kind, enc)
		if err != nil || kid != vecKIDLarge || !bytes.Equal(out, append([]byte("x"), c.frame...)) {
			t.Fatalf("%d (%v, %d bytes): Decrypt = %d, %d bytes, %v", i, c.kind, len(c.frame), kid, len(out), err)
		}
	}
}

// TestShortFramesEveryLength: every frame shorter than, equal to and just
// longer than its clear prefix decrypts, for each kind and for header
// lengths from 1 to 17 bytes, since such frames are told apart by the
// receiver's fallback (Receiver.Decrypt).
func TestShortFramesEveryLength(t *testing.T) {
	for _, kid := range []uint64{0, 300, vecKIDLarge, math.MaxUint64} {
		for _, first := range []uint64{0, 200, 1 << 40, math.MaxUint64 - 40} {
			var s Sender
			if err := s.setKey(kid, vecBaseKey(kid), first); err != nil {
				t.Fatal(err)
			}
			var r Receiver
			if err := r.AddKey(kid, vecBaseKey(kid)); err != nil {
				t.Fatal(err)
			}
			for _, mk := range []struct {
				kind Kind
				f    func(int, string) []byte
			}{{Video, vp8Key}, {Video, vp8Delta}, {Audio, opus}} {
				for n := 0; n <= 12; n++ {
					frame := mk.f(n, "s")
					enc, err := s.Encrypt(nil, mk.kind, frame)
					if err != nil {
						t.Fatal(err)
					}
					_, out, err := r.Decrypt(nil, mk.kind, enc)
					if err != nil || !bytes.Equal(out, frame) {
						t.Fatalf("KID %d, first CTR %d, %v frame % x: %x, %v", kid, first, mk.kind, frame, out, err)
					}
				}
			}
		}
	}
}

func TestSenderKeys(t *testing.T) {
	var s Sender
	if _, err := s.Encrypt(nil, Audio, opus(10, "")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
	if s.HasKey() || s.KID() != 0 {
		t.Fatal("zero Sender claims a key")
	}
	if err := s.SetKey(1, make([]byte, 15)); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("short key: %v", err)
	}
	if err := s.SetKey(1, vecBaseKey(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetKey(2, vecBaseKey(2)); err != nil {
		t.Fatal(err)
	}
	if s.KID() != 2 {
		t.Fatalf("KID %d, want 2", s.KID())
	}
	// The counter restarts at 0 for a new key.
	enc, _ := s.Encrypt(nil, Audio, opus(10, ""))
	if _, ctr, _, _ := ParseHeader(enc[1:]); ctr != 0 {
		t.Fatalf("first CTR of a new key: %d", ctr)
	}
	// Going back to a KID already used (same or other base key) could
	// repeat a nonce.
	for _, k := range [][]byte{vecBaseKey(1), vecBaseKey(3)} {
		if err := s.SetKey(1, k); !errors.Is(err, ErrKIDReused) {
			t.Fatalf("reused KID: %v", err)
		}
	}
	if s.KID() != 2 {
		t.Fatalf("a refused SetKey changed the key to %d", s.KID())
	}
}

func TestCounterExhaustion(t *testing.T) {
	var s Sender
	if err := s.setKey(9, vecBaseKey(9), math.MaxUint64-1); err != nil {
		t.Fatal(err)
	}
	var r Receiver
	if err := r.AddKey(9, vecBaseKey(9)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint64{math.MaxUint64 - 1, math.MaxUint64} {
		enc, err := s.Encrypt(nil, Audio, opus(20, "e"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ctr, _, _ := ParseHeader(enc[1:]); ctr != want {
			t.Fatalf("CTR %d, want %d", ctr, want)
		}
		if _, _, err := r.Decrypt(nil, Audio, enc); err != nil {
			t.Fatalf("CTR %d: %v", want, err)
		}
	}
	for range 2 {
		if _, err := s.Encrypt(nil, Audio, opus(20, "e")); !errors.Is(err, ErrCounterExhausted) {
			t.Fatalf("after the last CTR: %v", err)
		}
	}
	if err := s.SetKey(10, vecBaseKey(10)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Encrypt(nil, Audio, opus(20, "e")); err != nil {
		t.Fatalf("a new key does not lift exhaustion: %v", err)
	}
}

func TestReceiverKeys(t *testing.T) {
	s, r := newPair(t, 77)
	a, _ := s.Encrypt(nil, Audio, opus(30, "a"))
	b, _ := s.Encrypt(nil, Audio, opus(30, "b"))
	if _, _, err := r.Decrypt(nil, Audio, a); err != nil {
		t.Fatal(err)
	}
	// The same key again keeps the window: a is still a replay.
	if err := r.AddKey(77, vecBaseKey(77)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Decrypt(nil, Audio, a); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay after re-adding the same key: %v", err)
	}
	// Another base key for the KID replaces it: old frames no longer open.
	if err := r.AddKey(77, vecBaseKey(78)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Decrypt(nil, Audio, b); !errors.Is(err, ErrAuth) {
		t.Fatalf("frame of a replaced key: %v", err)
	}
	r.RemoveKey(77)
	if r.HasKey(77) {
		t.Fatal("HasKey after RemoveKey")
	}
	if kid, _, err := r.Decrypt(nil, Audio, b); !errors.Is(err, ErrUnknownKID) || kid != 77 {
		t.Fatalf("removed key: %d, %v", kid, err)
	}
	if err := r.AddKey(1, []byte("short")); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("short key: %v", err)
	}
}

func TestWindow(t *testing.T) {
	accept := func(w *window, ctr uint64) bool { return w.accept(ctr) == nil }
	var w window
	// The first CTR may be anything, including the largest.
	if !accept(&w, math.MaxUint64) || accept(&w, math.MaxUint64) {
		t.Fatal("first CTR")
	}
	if !accept(&w, math.MaxUint64-(ReplayWindow-1)) || accept(&w, math.MaxUint64-ReplayWindow) {
		t.Fatal("window edge below MaxUint64")
	}

	w = window{}
	if !accept(&w, 0) || accept(&w, 0) {
		t.Fatal("CTR 0 twice")
	}
	// Every shift distance, across every word boundary and past the
	// window, keeps exactly the CTRs that are still inside the window.
	const base = 10 * ReplayWindow
	offsets := []uint64{1, 10, 63, 64, 65, 127, 128, 500, ReplayWindow - 2, ReplayWindow - 1}
	for s := uint64(1); s <= ReplayWindow+2; s++ {
		var w window
		seen := map[uint64]bool{base: true}
		accept(&w, base)
		for _, o := range offsets {
			if !accept(&w, base-o) {
				t.Fatalf("CTR %d inside the first window refused", base-o)
			}
			seen[base-o] = true
		}
		top := base + s
		if !accept(&w, top) {
			t.Fatalf("shift %d: new highest refused", s)
		}
		for c := range seen {
			inside := top-c < ReplayWindow
			if err := w.accept(c); err == nil {
				t.Fatalf("shift %d: CTR %d accepted twice", s, c)
			} else if inside != !bytes.Contains([]byte(err.Error()), []byte("older")) {
				t.Fatalf("shift %d: CTR %d: %v (inside the window: %v)", s, c, err, inside)
			}
		}
		// Unseen CTRs inside the window are still accepted once.
		for c := top - ReplayWindow + 1; c < top; c++ {
			if seen[c] {
				continue
			}
			if !accept(&w, c) || accept(&w, c) {
				t.Fatalf("shift %d: unseen CTR %d", s, c)
			}
		}
	}
}

// TestConcurrent: an audio and a video goroutine share a Sender, and two
// goroutines share the Receiver; every CTR is used once and every frame
// decrypts once. Run with -race.
func TestConcurrent(t *testing.T) {
	s, r := newPair(t, vecKIDLarge)
	const perKind = 500
	var mu sync.Mutex
	var frames [][]byte
	var kinds []Kind
	var wg sync.WaitGroup
	for _, kind := range []Kind{Audio, Video} {
		wg.Go(func() {
			buf := make([]byte, 0, 2000)
			for i := range perKind {
				f := opus(160, fmt.Sprint(i))
				if kind == Video {
					f = vp8Delta(1200, fmt.Sprint(i))
				}
				enc, err := s.Encrypt(buf[:0], kind, f)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				frames = append(frames, bytes.Clone(enc))
				kinds = append(kinds, kind)
				mu.Unlock()
			}
		})
	}
	// Meanwhile the key is read, and another receiver key comes and goes.
	wg.Go(func() {
		for range 100 {
			_ = s.KID()
			if err := r.AddKey(1, vecBaseKey(1)); err != nil {
				t.Error(err)
			}
			r.RemoveKey(1)
		}
	})
	wg.Wait()
	byCTR := make([]int, 2*perKind) // frame index by CTR
	seen := make(map[uint64]bool)
	for i, f := range frames {
		n := prefixLen(kinds[i], f[0])
		_, ctr, _, err := ParseHeader(f[n:])
		if err != nil || seen[ctr] || ctr >= 2*perKind {
			t.Fatalf("frame %d: CTR %d repeated, out of range or unparsable (%v)", i, ctr, err)
		}
		seen[ctr] = true
		byCTR[ctr] = i
	}
	// Frames were collected in the order the goroutines finished, which
	// may be further apart than the replay window; deliver them in CTR
	// order, as a network without much reordering would.
	ordered, orderedKinds := make([][]byte, len(frames)), make([]Kind, len(frames))
	for ctr, i := range byCTR {
		ordered[ctr], orderedKinds[ctr] = frames[i], kinds[i]
	}
	frames, kinds = ordered, orderedKinds
	// Two goroutines each try to decrypt every frame: exactly one of
	// them succeeds per frame, the other sees a replay.
	var ok, replays [2]int
	for g := range 2 {
		wg.Go(func() {
			buf := make([]byte, 0, 2000)
			for i, f := range frames {
				_, _, err := r.Decrypt(buf[:0], kinds[i], f)
				switch {
				case err == nil:
					ok[g]++
				case errors.Is(err, ErrReplay):
					replays[g]++
				default:
					t.Errorf("frame %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	if ok[0]+ok[1] != len(frames) || replays[0]+replays[1] != len(frames) {
		t.Fatalf("accepted %v, replays %v; want %d of each in total", ok, replays, len(frames))
	}
}

// TestZeroAllocs: with caller buffers, encrypting and decrypting a frame
// allocates nothing in the steady state.
func TestZeroAllocs(t *testing.T) {
	s, r := newPair(t, vecKIDLarge)
	frame := vp8Delta(1200, "z")
	enc := make([]byte, 0, len(frame)+Overhead)
	dec := make([]byte, 0, len(frame)+Overhead)
	var err error
	allocs := testing.AllocsPerRun(1000, func() {
		enc, err = s.Encrypt(enc[:0], Video, frame)
		if err != nil {
			t.Fatal(err)
		}
		_, dec, err = r.Decrypt(dec[:0], Video, enc)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per frame, want 0", allocs)
	}
	if !bytes.Equal(dec, frame) {
		t.Fatal("round trip changed the frame")
	}
}
