package sframe

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// Frame sizes of the packet path: an Opus frame, a small video frame (one
// packet), a typical delta frame, a large key frame.
var benchSizes = []struct {
	name string
	n    int
	kind Kind
}{
	{"160B", 160, Audio},
	{"1200B", 1200, Video},
	{"10KB", 10 * 1024, Video},
	{"50KB", 50 * 1024, Video},
}

func benchFrame(n int, kind Kind) []byte {
	if kind == Audio {
		return opus(n, "bench")
	}
	return vp8Delta(n, "bench")
}

// BenchmarkEncrypt: Sender.Encrypt into a reused buffer.
func BenchmarkEncrypt(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			var s Sender
			if err := s.SetKey(vecKIDLarge, vecBaseKey(vecKIDLarge)); err != nil {
				b.Fatal(err)
			}
			frame := benchFrame(sz.n, sz.kind)
			dst := make([]byte, 0, len(frame)+Overhead)
			var err error
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if dst, err = s.Encrypt(dst[:0], sz.kind, frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecrypt: Receiver.Decrypt into a reused buffer, authentic frames
// only. The frames cycle through a ring with consecutive CTRs; each time
// the ring starts over the KID's replay window is reset (a field write),
// or every later frame would be a replay.
func BenchmarkDecrypt(b *testing.B) {
	const ring = 64
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			var s Sender
			var r Receiver
			if err := s.SetKey(vecKIDLarge, vecBaseKey(vecKIDLarge)); err != nil {
				b.Fatal(err)
			}
			if err := r.AddKey(vecKIDLarge, vecBaseKey(vecKIDLarge)); err != nil {
				b.Fatal(err)
			}
			frame := benchFrame(sz.n, sz.kind)
			encs := make([][]byte, ring)
			for i := range encs {
				var err error
				if encs[i], err = s.Encrypt(nil, sz.kind, frame); err != nil {
					b.Fatal(err)
				}
			}
			rk := r.keys[vecKIDLarge]
			dst := make([]byte, 0, len(frame))
			var err error
			i := 0
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if i == ring {
					i = 0
					r.mu.Lock()
					rk.win = window{}
					r.mu.Unlock()
				}
				if _, dst, err = r.Decrypt(dst[:0], sz.kind, encs[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkAESGCM is the reference: bare AES-128-GCM Seal and Open of the
// same sizes with a 10-byte AAD (a 7-byte header and 3 clear bytes), so
// that SFrame's own cost is the difference.
func BenchmarkAESGCM(b *testing.B) {
	block, err := aes.NewCipher(vecBaseKey(1))
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, NonceLen)
	aad := make([]byte, 10)
	for _, sz := range benchSizes {
		pt := benchFrame(sz.n, sz.kind)
		b.Run("Seal/"+sz.name, func(b *testing.B) {
			dst := make([]byte, 0, len(pt)+TagLen)
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				dst = aead.Seal(dst[:0], nonce, pt, aad)
			}
		})
		b.Run("Open/"+sz.name, func(b *testing.B) {
			ct := aead.Seal(nil, nonce, pt, aad)
			dst := make([]byte, 0, len(pt))
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				if dst, err = aead.Open(dst[:0], nonce, ct, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
