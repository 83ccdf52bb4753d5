package client

import (
	"math"
	"testing"
	"time"
)

// feed gives c one packet per sequence number, 20 ms and 960 ticks apart.
func feed(c *rtpCounter, seqs ...uint16) {
	for _, s := range seqs {
		c.update(s, uint32(s)*960, false, 100, time.Duration(s)*20*time.Millisecond)
	}
}

func TestLossInOrder(t *testing.T) {
	c := rtpCounter{clockRate: 48000}
	for s := uint16(1000); s < 1100; s++ {
		feed(&c, s)
	}
	if c.received != 100 || c.expected() != 100 || c.lost() != 0 {
		t.Errorf("received %d expected %d lost %d, want 100 100 0", c.received, c.expected(), c.lost())
	}
	if c.bytes != 100*100 || c.frames != 100 {
		t.Errorf("bytes %d frames %d, want 10000 100", c.bytes, c.frames)
	}
}

func TestLossWithGapsAndWraparound(t *testing.T) {
	c := rtpCounter{clockRate: 48000}
	// 65530..65535, then 0..9 with 65533, 2 and 3 missing: 16 sent, 3 lost.
	feed(&c, 65530, 65531, 65532, 65534, 65535, 0, 1, 4, 5, 6, 7, 8, 9)
	if c.expected() != 16 || c.lost() != 3 {
		t.Errorf("expected %d lost %d, want 16 3", c.expected(), c.lost())
	}
	// Several full cycles: the extended sequence number keeps counting.
	d := rtpCounter{}
	for i := range 3 * 65536 {
		d.update(uint16(i), 0, false, 0, 0)
	}
	if d.expected() != 3*65536 || d.lost() != 0 {
		t.Errorf("after 3 cycles expected %d lost %d", d.expected(), d.lost())
	}
}

func TestLossReorderAndDuplicates(t *testing.T) {
	c := rtpCounter{}
	feed(&c, 10, 12, 11, 13) // reordered, nothing lost
	if c.lost() != 0 || c.maxSeq != 13 || c.late != 1 {
		t.Errorf("reorder: lost %d max %d late %d, want 0 13 1", c.lost(), c.maxSeq, c.late)
	}
	feed(&c, 13, 13, 12) // duplicates would make loss negative: clamped
	if c.lost() != 0 || c.late != 4 {
		t.Errorf("duplicates: lost %d late %d, want 0 4", c.lost(), c.late)
	}
	// A late packet from before the wrap must not count as a new cycle.
	w := rtpCounter{}
	feed(&w, 65534, 65535, 0, 1, 65535, 2)
	if w.cycles != 1<<16 || w.expected() != 5 {
		t.Errorf("late packet across the wrap: cycles %d expected %d", w.cycles, w.expected())
	}
}

func TestFramesCountMarkersForVideo(t *testing.T) {
	c := rtpCounter{clockRate: 90000, video: true}
	// Three frames of 4, 1 and 2 packets.
	for i, marker := range []bool{false, false, false, true, true, false, true} {
		c.update(uint16(i), 0, marker, 1000, 0)
	}
	if c.frames != 3 || c.received != 7 {
		t.Errorf("frames %d packets %d, want 3 7", c.frames, c.received)
	}
}

func TestJitter(t *testing.T) {
	// Perfectly paced packets: no jitter, even across a timestamp wrap.
	c := rtpCounter{clockRate: 48000}
	ts := uint32(math.MaxUint32 - 960*10)
	for i := range 50 {
		c.update(uint16(i), ts, false, 0, time.Duration(i)*20*time.Millisecond)
		ts += 960
	}
	if c.jitterMs() > 1e-9 {
		t.Errorf("paced packets: jitter %v ms, want 0", c.jitterMs())
	}

	// One packet 5 ms late: |D| is 5 ms for it and for the next, so
	// J = 5/16, then J + (5 - J)/16 (RFC 3550 §6.4.1).
	c = rtpCounter{clockRate: 48000}
	arrivals := []time.Duration{0, 20, 45, 60}
	for i, a := range arrivals {
		c.update(uint16(i), uint32(i)*960, false, 0, a*time.Millisecond)
	}
	j1 := 5.0 / 16
	want := j1 + (5-j1)/16
	if math.Abs(c.jitterMs()-want) > 1e-9 {
		t.Errorf("one late packet: jitter %v ms, want %v", c.jitterMs(), want)
	}

	// Alternating 0 and 5 ms delay: |D| is always 5 ms, J converges to 5 ms.
	c = rtpCounter{clockRate: 90000, video: true}
	for i := range 1000 {
		delay := time.Duration(i%2) * 5 * time.Millisecond
		c.update(uint16(i), uint32(i)*3000, true, 0, time.Duration(i)*time.Second/30+delay)
	}
	if math.Abs(c.jitterMs()-5) > 1e-6 {
		t.Errorf("alternating delay: jitter %v ms, want 5", c.jitterMs())
	}
}
