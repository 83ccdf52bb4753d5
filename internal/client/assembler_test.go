package client

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Packets packetizes frame as a VP8 publisher would, starting at seq.
func vp8Packets(t *testing.T, frame []byte, seq uint16, ts uint32) []*rtp.Packet {
	t.Helper()
	p := rtp.NewPacketizer(100, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewFixedSequencer(seq), 90000)
	pkts := p.Packetize(frame, 0)
	for _, pk := range pkts {
		pk.Timestamp = ts
	}
	if len(pkts) < 3 {
		t.Fatalf("frame of %d bytes made %d packets; want several", len(frame), len(pkts))
	}
	return pkts
}

func frameOf(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// TestAssemblerReorders: packets of two frames arrive interleaved, out of
// order and duplicated (retransmissions after NACKs), across the 16-bit
// sequence wrap; both frames come out whole, once.
func TestAssemblerReorders(t *testing.T) {
	a := assembler{video: true}
	f1, f2 := frameOf(350, 1), frameOf(300, 2)
	p1 := vp8Packets(t, f1, 65533, 1000) // wraps
	p2 := vp8Packets(t, f2, 65533+uint16(len(p1)), 4000)
	order := []*rtp.Packet{p1[0], p2[0], p1[2], p2[1], p1[2], p2[len(p2)-1]}
	order = append(order, p2[2:len(p2)-1]...)
	order = append(order, p1[3:]...)
	order = append(order, p1[1], p1[1]) // the NACKed one, twice
	var got [][]byte
	for _, pk := range order {
		frame, lost := a.push(&pk.Header, pk.Payload)
		if lost != 0 {
			t.Fatalf("lost %d", lost)
		}
		if frame != nil {
			got = append(got, bytes.Clone(frame))
		}
	}
	if len(got) != 2 || !bytes.Equal(got[0], f2) || !bytes.Equal(got[1], f1) {
		t.Fatalf("got %d frames (%v)", len(got), lens(got))
	}
}

// TestAssemblerGivesUp: a frame missing a packet for good is given up, and
// counted, once newer frames crowd it out; the newer ones still complete.
func TestAssemblerGivesUp(t *testing.T) {
	a := assembler{video: true}
	seq := uint16(10)
	lostTotal, done := 0, 0
	for i := range maxPendingFrames + 5 {
		pkts := vp8Packets(t, frameOf(300, byte(i)), seq, uint32(i)*3000)
		seq += uint16(len(pkts))
		for j, pk := range pkts {
			if i == 0 && j == 1 {
				continue // never arrives
			}
			frame, lost := a.push(&pk.Header, pk.Payload)
			lostTotal += lost
			if frame != nil {
				done++
			}
		}
	}
	if lostTotal != 1 || done != maxPendingFrames+4 {
		t.Fatalf("lost %d, completed %d", lostTotal, done)
	}
	// A late copy of the missing packet starts nothing.
	pk := vp8Packets(t, frameOf(300, 0), 10, 0)[1]
	if frame, lost := a.push(&pk.Header, pk.Payload); frame != nil || lost != 0 || len(a.pending) != 0 {
		t.Fatalf("late packet: frame %v, lost %d, pending %d", frame != nil, lost, len(a.pending))
	}
}

func lens(fs [][]byte) []int {
	var out []int
	for _, f := range fs {
		out = append(out, len(f))
	}
	return out
}

// FuzzAssembler: any packets, in any order, never panic, never hold more
// than maxPendingFrames frames, and never make a frame over maxFrameBytes.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte{0x90, 0x80, 0x01, 0xaa}, uint16(1), uint32(3000), true)
	f.Add([]byte{0x10, 0xaa, 0xbb}, uint16(65535), uint32(0), false)
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, ts uint32, marker bool) {
		a := assembler{video: true}
		for i := range 3 * maxPendingFrames {
			h := rtp.Header{SequenceNumber: seq + uint16(i%7), Timestamp: ts + uint32(i/3), Marker: marker || i%5 == 0}
			frame, _ := a.push(&h, payload)
			if len(frame) > maxFrameBytes || len(a.pending) > maxPendingFrames {
				t.Fatalf("frame %d bytes, %d pending", len(frame), len(a.pending))
			}
		}
	})
}
