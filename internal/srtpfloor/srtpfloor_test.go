package srtpfloor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

func TestMeasureArithmetic(t *testing.T) {
	r, err := Measure(3, 300, 1200)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subscribers != 3 || r.Packets != 300 || r.Forwarded != 900 {
		t.Fatalf("result %+v", r)
	}
	if r.Elapsed <= 0 || r.NsPerForwarded != float64(r.Elapsed.Nanoseconds())/900 {
		t.Fatalf("elapsed %v, %v ns per forwarded packet", r.Elapsed, r.NsPerForwarded)
	}
	if r, err := Measure(2, 0, 100); err != nil || r.Forwarded != 0 || r.NsPerForwarded != 0 {
		t.Fatalf("no packets: %+v %v", r, err)
	}
	for _, c := range []struct{ subs, pkts, payload int }{{0, 1, 100}, {1, -1, 100}, {1, 1, -1}, {1, 1, MaxPayload + 1}} {
		if _, err := Measure(c.subs, c.pkts, c.payload); !errors.Is(err, ErrInvalid) {
			t.Errorf("Measure(%d, %d, %d): %v", c.subs, c.pkts, c.payload, err)
		}
	}
}

// Every protected packet decrypts, at the subscriber's side with that
// subscriber's keys only, to the publisher's packet with the subscriber's
// SSRC, across a sequence number wrap.
func TestForwardedPacketsDecrypt(t *testing.T) {
	const subs, packets = 3, 300
	f, err := newFloor(Profile, subs, 1200)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	f.seq = 65500 // crosses the wrap: the rollover counter must follow on both sides
	var got [subs][][]byte
	f.sent = func(i int, pkt []byte) { got[i] = append(got[i], bytes.Clone(pkt)) }

	for done := 0; done < packets; {
		batch, err := f.fill(min(100, packets-done))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.forward(batch); err != nil {
			t.Fatal(err)
		}
		done += len(batch)
	}
	// The publisher's payload: fixed random bytes led by the sequence number.
	want := bytes.Clone(f.plain[12:])

	for i := range subs {
		if len(got[i]) != packets {
			t.Fatalf("subscriber %d: %d packets, want %d", i, len(got[i]), packets)
		}
		rx, err := f.context(Profile, 1+i, srtp.SRTPReplayProtection(replayWindow))
		if err != nil {
			t.Fatal(err)
		}
		other, err := f.context(Profile, 1+(i+1)%subs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.DecryptRTP(nil, got[i][0], nil); err == nil {
			t.Errorf("subscriber %d's packet decrypts with another subscriber's keys", i)
		}
		for k, c := range got[i] {
			var p rtp.Packet
			plain, err := rx.DecryptRTP(nil, c, nil)
			if err != nil {
				t.Fatalf("subscriber %d packet %d: %v", i, k, err)
			}
			if err := p.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			seq := uint16(65500 + k)
			binary.BigEndian.PutUint16(want, seq)
			if p.SSRC != f.ssrcs[i] || p.SequenceNumber != seq || !bytes.Equal(p.Payload, want) {
				t.Fatalf("subscriber %d packet %d: ssrc %#x seq %d, payload equal %v", i, k, p.SSRC, p.SequenceNumber, bytes.Equal(p.Payload, want))
			}
		}
	}
}

// BenchmarkFloor: one op is one published 1200-byte packet forwarded to n
// subscribers; ns/fwd is per forwarded packet, the figure to compare with
// internal/sfu's BenchmarkForward.
func BenchmarkFloor(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("%02dsubs", n), func(b *testing.B) { benchFloor(b, Profile, n) })
	}
}

// BenchmarkFloorProfile compares the profiles a browser offers, at 4
// subscribers: why internal/peer prefers AEAD_AES_128_GCM.
func BenchmarkFloorProfile(b *testing.B) {
	for _, p := range []srtp.ProtectionProfile{srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAeadAes256Gcm, srtp.ProtectionProfileAes128CmHmacSha1_80} {
		b.Run(p.String(), func(b *testing.B) { benchFloor(b, p, 4) })
	}
}

func benchFloor(b *testing.B, profile srtp.ProtectionProfile, n int) {
	f, err := newFloor(profile, n, 1200)
	if err != nil {
		b.Fatal(err)
	}
	defer f.close()
	b.ReportAllocs()
	b.SetBytes(1200)
	b.ResetTimer()
	for done := 0; done < b.N; {
		// Making the publisher's packets is not the forwarder's work.
		b.StopTimer()
		batch, err := f.fill(min(batchSize, b.N-done))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := f.forward(batch); err != nil {
			b.Fatal(err)
		}
		done += len(batch)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fwd")
}
