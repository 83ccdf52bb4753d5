package sframe

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseHeader: parsing never panics, accepts only what AppendHeader
// writes (so parse and encode agree byte for byte), and every (KID, CTR)
// encodes to a header that parses back to it.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x00}, uint64(0), uint64(0))
	f.Add([]byte{0x99, 0x01, 0x23, 0x45, 0x67}, uint64(291), uint64(17767))
	f.Add([]byte{0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, uint64(1<<63), uint64(7))
	f.Add([]byte{0x80, 0x05}, uint64(8), uint64(1<<53-1))
	f.Fuzz(func(t *testing.T, b []byte, kid, ctr uint64) {
		k, c, n, err := ParseHeader(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseHeader(%x): %v is not ErrMalformed", b, err)
			}
		} else {
			if n < 1 || n > MaxHeaderLen || n > len(b) {
				t.Fatalf("ParseHeader(%x): length %d", b, n)
			}
			if enc := AppendHeader(nil, k, c); !bytes.Equal(enc, b[:n]) {
				t.Fatalf("ParseHeader(%x) = %d, %d; they encode as %x", b, k, c, enc)
			}
		}
		h := AppendHeader(nil, kid, ctr)
		k, c, n, err = ParseHeader(h)
		if err != nil || k != kid || c != ctr || n != len(h) || n != HeaderLen(kid, ctr) {
			t.Fatalf("(%d, %d) → %x → %d, %d, %d, %v", kid, ctr, h, k, c, n, err)
		}
	})
}

// FuzzDecrypt: arbitrary bytes, as any kind of frame, never make the
// receiver or Key.Open panic, and are accepted only if they are, byte for
// byte, a frame this test produced with Encrypt (or Seal), and then yield
// exactly the frame that was encrypted. (The kind is not authenticated: a
// frame also opens under another kind whose rule reads the same clear
// length, e.g. a 1-byte VP8 frame as audio; it then yields the same frame.)
func FuzzDecrypt(f *testing.F) {
	kids := []uint64{vecKIDSmall, vecKIDLarge, vecKIDMax}
	keys := map[uint64]*Key{}
	for _, kid := range kids {
		k, err := NewKey(kid, vecBaseKey(kid))
		if err != nil {
			f.Fatal(err)
		}
		keys[kid] = k
	}
	type made struct {
		kind  Kind
		frame []byte
	}
	valid := map[string]made{}  // encrypted frame → what it holds
	sealed := map[string]bool{} // Key.Seal outputs, metadata "md"
	for i, kid := range kids {
		var s Sender
		if err := s.setKey(kid, vecBaseKey(kid), uint64(i*1000)); err != nil {
			f.Fatal(err)
		}
		for _, m := range []made{
			{Video, vp8Key(40, "f")}, {Video, vp8Delta(30, "f")}, {Audio, opus(20, "f")},
			{Video, vp8Key(4, "")}, {Video, vp8Delta(1, "")}, {Audio, opus(0, "")}, {Audio, opus(1, "")},
		} {
			enc, err := s.Encrypt(nil, m.kind, m.frame)
			if err != nil {
				f.Fatal(err)
			}
			valid[string(enc)] = m
			for k := range uint8(4) {
				f.Add(enc, k) // its own kind and the others
			}
		}
		ct := keys[kid].Seal(nil, 5, []byte("md"), []byte("plaintext"))
		sealed[string(ct)] = true
		f.Add(ct, uint8(Audio))
	}
	f.Add([]byte{}, uint8(Video))
	f.Add([]byte{0x50, 0xff}, uint8(Video))
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		kind := Kind(k % 4) // 0 and 3 are "anything else"
		in := bytes.Clone(data)
		// A fresh receiver each time (replays are not the point here),
		// with keys derived once.
		r := &Receiver{keys: map[uint64]*rxKey{}}
		for kid, key := range keys {
			r.keys[kid] = &rxKey{key: key}
		}
		kid, out, err := r.Decrypt(nil, kind, data)
		if !bytes.Equal(in, data) {
			t.Fatal("Decrypt changed its input")
		}
		if err == nil {
			m, ok := valid[string(data)]
			if !ok || !bytes.Equal(out, m.frame) || keys[kid] == nil {
				t.Fatalf("accepted a frame never produced: %x as %v → KID %d, %x", data, kind, kid, out)
			}
		} else if e := errorKind(err); e != "malformed" && e != "auth" && e != "unknown_kid" {
			t.Fatalf("Decrypt(%x): unexpected error %v", data, err)
		}
		for _, key := range keys {
			_, pt, err := key.Open(nil, data, []byte("md"))
			if err == nil && (!sealed[string(data)] || !bytes.Equal(pt, []byte("plaintext"))) {
				t.Fatalf("Open accepted %x (→ %x), never sealed", data, pt)
			}
		}
	})
}
