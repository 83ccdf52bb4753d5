package client

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"hotline/internal/protocol"
)

func TestRTPTimestampIsTheClock(t *testing.T) {
	cases := []struct {
		since     time.Duration
		clockRate uint32
		want      uint32
	}{
		{0, 90000, 0},
		{-time.Second, 90000, 0}, // before the epoch: clamped
		{time.Second, 90000, 90000},
		{1500 * time.Millisecond, 48000, 72000},
		{time.Second / 30, 90000, 2999}, // 33.333333 ms is 2999.99997 ticks: rounded down
		{20 * time.Millisecond, 48000, 960},
		// 50000 s is 4.5e9 ticks at 90 kHz: the timestamp wraps modulo 2^32.
		{50000 * time.Second, 90000, uint32(4_500_000_000 - 1<<32)},
		// A week at 90 kHz: the tick count itself does not overflow.
		{7 * 24 * time.Hour, 90000, uint32(7 * 24 * 3600 * 90000 % (1 << 32))},
	}
	for _, c := range cases {
		if got := rtpTimestamp(epoch.Add(c.since), c.clockRate); got != c.want {
			t.Errorf("%v at %d Hz: %d, want %d", c.since, c.clockRate, got, c.want)
		}
	}
}

func TestOneWayDelay(t *testing.T) {
	tick := func(rate uint32) time.Duration { return time.Second / time.Duration(rate) }
	for _, rate := range []uint32{90000, 48000} {
		// Across the 32-bit wrap (13 h at 90 kHz, 25 h at 48 kHz) too.
		for _, sent := range []time.Duration{time.Second, 3 * time.Hour, 13*time.Hour + 15*time.Minute, 26 * time.Hour} {
			for _, delay := range []time.Duration{0, 150 * time.Microsecond, 3 * time.Millisecond, 9 * time.Second} {
				send := epoch.Add(sent)
				ts := rtpTimestamp(send, rate)
				got, ok := oneWayDelay(send.Add(delay), ts, rate)
				// The timestamp rounds the send time down by less than a tick.
				if !ok || got < delay || got >= delay+tick(rate) {
					t.Errorf("%d Hz, sent at %v, delay %v: got %v %v", rate, sent, delay, got, ok)
				}
			}
		}
	}
	send := epoch.Add(time.Hour)
	ts := rtpTimestamp(send, 90000)
	for _, c := range []struct {
		what    string
		arrival time.Time
		ts      uint32
		rate    uint32
	}{
		{"a timestamp from the future", send.Add(-time.Millisecond), ts, 90000},
		{"beyond 10 s", send.Add(11 * time.Second), ts, 90000},
		{"before the epoch", epoch.Add(time.Millisecond), ts, 90000},
		{"no clock rate", send, ts, 0},
	} {
		if d, ok := oneWayDelay(c.arrival, c.ts, c.rate); ok {
			t.Errorf("%s: accepted as %v", c.what, d)
		}
	}
}

func TestDelayHistogramQuantiles(t *testing.T) {
	var h DelayHistogram
	if h.Quantile(0.5) != 0 || h.Count() != 0 {
		t.Fatal("empty histogram is not empty")
	}
	// 1..1000 ms, evenly: the p-quantile is p seconds, within a bucket (12 %).
	for i := 1; i <= 1000; i++ {
		h.Observe(time.Duration(i) * time.Millisecond)
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99} {
		want := q * float64(time.Second)
		if got := float64(h.Quantile(q)); got < want*0.88 || got > want*1.12 {
			t.Errorf("q%v: %v, want about %v", q, time.Duration(got), time.Duration(want))
		}
	}
	if h.Quantile(0) > time.Millisecond || h.Quantile(1) < time.Second {
		t.Errorf("extremes: %v %v", h.Quantile(0), h.Quantile(1))
	}
	// Below the first bound and beyond the last are kept, not dropped.
	var e DelayHistogram
	e.Observe(time.Microsecond)
	e.Observe(time.Hour)
	if e.Count() != 2 || e.Quantile(0.25) >= delayMin || e.Quantile(1) != maxOneWay {
		t.Errorf("edges: count %d, q.25 %v, q1 %v", e.Count(), e.Quantile(0.25), e.Quantile(1))
	}
	// Bucket bounds agree with the bucket function and grow.
	for i := 1; i < delayBuckets-1; i++ {
		lo, hi := delayBounds(i)
		mid := time.Duration((lo + hi) / 2)
		if delayBucket(mid) != i || hi <= lo {
			t.Fatalf("bucket %d: [%v, %v) holds %v in bucket %d", i, lo, hi, mid, delayBucket(mid))
		}
	}
}

func TestDelayHistogramWindowsAndMerge(t *testing.T) {
	var a, b DelayHistogram
	for range 100 {
		a.Observe(time.Millisecond)
	}
	before := a
	for range 100 {
		a.Observe(10 * time.Millisecond)
	}
	w := a.Sub(before)
	if w.Count() != 100 || w.Quantile(0.5) < 9*time.Millisecond || w.Quantile(0.5) > 11*time.Millisecond {
		t.Errorf("window: %d delays, median %v", w.Count(), w.Quantile(0.5))
	}
	if z := before.Sub(a); z.Count() != 0 {
		t.Errorf("subtracting a later snapshot: %d", z.Count())
	}
	b.Observe(time.Second)
	b.Add(w)
	if b.Count() != 101 || b.Quantile(1) < 900*time.Millisecond {
		t.Errorf("merged: %d, max %v", b.Count(), b.Quantile(1))
	}
}

// One delay per frame, at its first packet; older frames are ignored, and
// the timestamp may wrap.
func TestDelayMeterOncePerFrame(t *testing.T) {
	m := delayMeter{clockRate: 90000}
	send := epoch.Add(time.Minute)
	for f := range 10 {
		at := send.Add(time.Duration(f) * time.Second / 30)
		ts := rtpTimestamp(at, 90000)
		for p := range 4 { // four packets per frame, 1 ms apart
			m.observe(ts, at.Add(time.Duration(2+p)*time.Millisecond))
		}
	}
	m.observe(rtpTimestamp(send, 90000), send.Add(time.Second)) // a retransmission of frame 0
	if m.hist.Count() != 10 {
		t.Fatalf("%d delays for 10 frames", m.hist.Count())
	}
	if q := m.hist.Quantile(1); q > 2300*time.Microsecond || q < 2*time.Millisecond {
		t.Errorf("the first packet of each frame arrived 2 ms after its send; max %v", q)
	}
	w := delayMeter{clockRate: 90000, started: true, lastTS: 1<<32 - 100}
	w.observe(200, epoch.Add(time.Hour)) // past the wrap: a newer frame (its delay is absurd, so not counted)
	if w.lastTS != 200 {
		t.Errorf("wrap: last timestamp %d", w.lastTS)
	}
}

// The packets of one frame all carry the frame's timestamp, and the last one
// the marker bit.
func TestWriteFrameStampsEveryPacket(t *testing.T) {
	lt, err := newLocalTrack(protocol.TrackInfo{ID: "cam0", Kind: protocol.KindVideo})
	if err != nil {
		t.Fatal(err)
	}
	rec := &rtpRecorder{}
	vp8 := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}
	if _, err := lt.track.Bind(&fakeBinding{codec: vp8, w: rec}); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 3*packetMTU) // needs at least four packets
	if err := lt.writeFrame(frame, 123456); err != nil {
		t.Fatal(err)
	}
	if len(rec.hdrs) < 4 {
		t.Fatalf("%d packets for a %d-byte frame", len(rec.hdrs), len(frame))
	}
	for i, h := range rec.hdrs {
		if h.Timestamp != 123456 || h.Marker != (i == len(rec.hdrs)-1) || h.PayloadType != 96 || h.SSRC != 42 {
			t.Errorf("packet %d: %+v", i, h)
		}
		if i > 0 && h.SequenceNumber != rec.hdrs[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, h.SequenceNumber, rec.hdrs[i-1].SequenceNumber)
		}
	}
}

type rtpRecorder struct{ hdrs []rtp.Header }

func (r *rtpRecorder) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	r.hdrs = append(r.hdrs, *h)
	return len(payload), nil
}

func (r *rtpRecorder) Write(b []byte) (int, error) { return len(b), nil }

// fakeBinding is what Pion hands a TrackLocal on Bind.
type fakeBinding struct {
	codec webrtc.RTPCodecParameters
	w     webrtc.TrackLocalWriter
}

func (b *fakeBinding) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{b.codec}
}
func (b *fakeBinding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (b *fakeBinding) SSRC() webrtc.SSRC                                      { return 42 }
func (b *fakeBinding) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (b *fakeBinding) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (b *fakeBinding) WriteStream() webrtc.TrackLocalWriter                   { return b.w }
func (b *fakeBinding) ID() string                                             { return "b" }
func (b *fakeBinding) RTCPReader() interceptor.RTCPReader                     { return nil }

// Join time starts at Join for tracks of participants in the call when we
// joined (the first roster), and at their first listing for tracks of those
// who joined later.
func TestJoinReference(t *testing.T) {
	me, old, late := testDevice(t, "me"), testDevice(t, "old"), testDevice(t, "new")
	c := newKeyedClient(t, Config{Line: testLine, Call: "x", Device: me})
	defer c.Close()
	c.keys.SetSelfID("me") // as the welcome does
	c.joinStart = time.Now().Add(-time.Second)
	c.dispatch(&protocol.Roster{Type: protocol.TypeRoster, Segment: protocol.SegmentPrivate, Participants: []protocol.RosterEntry{
		{ID: "me", Device: me.ID(), Name: "me", Credential: wireCredential(me)},
		{ID: "old", Device: old.ID(), Name: "old", Credential: wireCredential(old), Tracks: []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}}},
	}})
	// A later roster (someone joined) does not change who was there.
	c.dispatch(&protocol.Roster{Type: protocol.TypeRoster, Segment: protocol.SegmentPrivate, Participants: []protocol.RosterEntry{
		{ID: "new", Device: late.ID(), Name: "new", Credential: wireCredential(late), Tracks: []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}}},
	}})
	if fs := c.keys.Forgeries(); len(fs) != 0 {
		t.Errorf("forgeries in a roster of enrolled devices: %+v", fs)
	}
	c.updateReceiving([]protocol.ReceiveMid{
		{Mid: "1", Participant: "old", Name: "old", Track: "mic", Kind: protocol.KindAudio},
		{Mid: "2", Participant: "old", Name: "old", Track: "cam0", Kind: protocol.KindVideo}, // its media not at the server yet
		{Mid: "3", Participant: "new", Name: "new", Track: "mic", Kind: protocol.KindAudio},
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, mid := range []string{"1", "2"} {
		if got := c.byMid[mid].since; !got.Equal(c.joinStart) {
			t.Errorf("mid %s, publisher there at join: from %v, want the join start %v", mid, got, c.joinStart)
		}
	}
	if got := c.byMid["3"].since; !got.After(c.joinStart) {
		t.Errorf("publisher who joined after us: from %v, want its listing", got)
	}
}
