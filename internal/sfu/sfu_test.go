package sfu

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

var vp8 = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}

// chanSource feeds marshalled RTP packets to a Track.
type chanSource struct {
	ch   chan []byte
	once sync.Once
}

// newChanSource makes a source that ends (EOF) at the latest when the test
// does, so that a failed test leaves no goroutine blocked in its bubble.
func newChanSource(t *testing.T, size int) *chanSource {
	s := &chanSource{ch: make(chan []byte, size)}
	t.Cleanup(s.end)
	return s
}

func (s *chanSource) end() { s.once.Do(func() { close(s.ch) }) }

func (s *chanSource) Read(b []byte) (int, interceptor.Attributes, error) {
	p, ok := <-s.ch
	if !ok {
		return 0, nil, io.EOF
	}
	return copy(b, p), nil, nil
}

// recorder is a subscriber's write stream.
type recorder struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (r *recorder) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pkts = append(r.pkts, rtp.Packet{Header: h.Clone(), Payload: bytes.Clone(payload)})
	return len(payload), nil
}
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) got() []rtp.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rtp.Packet(nil), r.pkts...)
}

// bindCtx is what Pion hands a TrackLocal on Bind.
type bindCtx struct {
	id     string
	ssrc   webrtc.SSRC
	codecs []webrtc.RTPCodecParameters
	w      webrtc.TrackLocalWriter
}

func (c *bindCtx) CodecParameters() []webrtc.RTPCodecParameters           { return c.codecs }
func (c *bindCtx) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (c *bindCtx) SSRC() webrtc.SSRC                                      { return c.ssrc }
func (c *bindCtx) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (c *bindCtx) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (c *bindCtx) WriteStream() webrtc.TrackLocalWriter                   { return c.w }
func (c *bindCtx) ID() string                                             { return c.id }
func (c *bindCtx) RTCPReader() interceptor.RTCPReader                     { return nil }

func packet(t testing.TB, seq uint16, payload []byte) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: 9000 * uint32(seq), SSRC: 0xdeadbeef, Marker: seq%3 == 0}, Payload: payload}
	if err := p.Header.SetExtension(3, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The track's goroutines run in a synctest bubble: synctest.Wait returns
// when every one of them is blocked, so no polling is needed.
func TestForwardToSubscribers(t *testing.T) { synctest.Test(t, testForwardToSubscribers) }

func testForwardToSubscribers(t *testing.T) {
	src := newChanSource(t, 0)
	var kf atomic.Int32
	tr := NewTrack(TrackConfig{ID: "p1.cam0", StreamID: "p1", Codec: vp8, Source: src, RequestKeyframe: func() { kf.Add(1) }})
	done := make(chan error)
	go func() { done <- tr.Run() }()

	recs := make([]*recorder, 3)
	downs := make([]*DownTrack, 3)
	for i := range recs {
		recs[i] = &recorder{}
		downs[i] = tr.NewDownTrack(nil)
		codecs := []webrtc.RTPCodecParameters{
			{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, PayloadType: 111},
			{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/vp8"}, PayloadType: webrtc.PayloadType(100 + i)},
		}
		got, err := downs[i].Bind(&bindCtx{id: string(rune('a' + i)), ssrc: webrtc.SSRC(1000 + i), codecs: codecs, w: recs[i]})
		if err != nil || got.PayloadType != webrtc.PayloadType(100+i) {
			t.Fatalf("bind %d: %v %v", i, got, err)
		}
	}
	if tr.Subscribers() != 3 {
		t.Fatalf("%d subscribers", tr.Subscribers())
	}
	// Binding asked for a key frame (merged: one now, one deferred at most).
	synctest.Wait()
	if n := kf.Load(); n != 1 {
		t.Fatalf("%d keyframe requests at once after three binds, want 1", n)
	}

	payload := []byte("opaque-ciphertext-\x00\xff")
	for seq := uint16(65534); seq != 3; seq++ { // crosses the wrap
		src.ch <- packet(t, seq, payload)
	}
	// The first packet each subscriber got asked again, merged with the
	// binds' pending request into one, brought forward to FirstPacketSpacing.
	synctest.Wait()
	if n := kf.Load(); n != 1 {
		t.Fatalf("%d keyframe requests at once after the first packets, want 1", n)
	}
	time.Sleep(FirstPacketSpacing)
	synctest.Wait()
	if n := kf.Load(); n != 2 {
		t.Fatalf("%d keyframe requests after FirstPacketSpacing, want 2", n)
	}
	time.Sleep(DefaultKeyframeInterval)
	synctest.Wait()
	if n := kf.Load(); n != 2 {
		t.Fatalf("%d keyframe requests after the interval, want still 2", n)
	}
	// Unbind one subscriber: it receives nothing more.
	synctest.Wait()
	if n := len(recs[2].got()); n != 5 {
		t.Fatalf("subscriber 2 got %d packets, want 5", n)
	}
	if err := downs[2].Unbind(&bindCtx{id: "c"}); err != nil {
		t.Fatal(err)
	}
	src.ch <- packet(t, 3, payload)
	src.end()
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("Run returned %v, want EOF", err)
	}

	for i, r := range recs {
		pkts := r.got()
		want := 6
		if i == 2 {
			want = 5
		}
		if len(pkts) != want {
			t.Fatalf("subscriber %d got %d packets, want %d", i, len(pkts), want)
		}
		for j, p := range pkts {
			if p.SSRC != uint32(1000+i) || p.PayloadType != uint8(100+i) {
				t.Errorf("subscriber %d: ssrc %d pt %d not rewritten", i, p.SSRC, p.PayloadType)
			}
			if p.Extension || len(p.Extensions) != 0 {
				t.Errorf("subscriber %d: header extensions forwarded", i)
			}
			if !bytes.Equal(p.Payload, payload) {
				t.Errorf("subscriber %d: payload changed", i)
			}
			if seq := uint16(65534) + uint16(j); p.SequenceNumber != seq || p.Timestamp != 9000*uint32(seq) || p.Marker != (seq%3 == 0) {
				t.Errorf("subscriber %d: packet %d header %v", i, j, p.Header)
			}
		}
	}
	if p, b := tr.Forwarded(); p != 6 || b == 0 {
		t.Fatalf("forwarded %d packets %d bytes", p, b)
	}
}

func TestCodecMismatch(t *testing.T) {
	tr := NewTrack(TrackConfig{ID: "x", Codec: vp8, Source: &chanSource{}})
	_, err := tr.NewDownTrack(nil).Bind(&bindCtx{codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, PayloadType: 102}}, w: &recorder{}})
	if !errors.Is(err, ErrCodecMismatch) {
		t.Fatalf("bind with no common codec: %v", err)
	}
}

func TestNACKAndPLI(t *testing.T) { synctest.Test(t, testNACKAndPLI) }

func testNACKAndPLI(t *testing.T) {
	src := newChanSource(t, 0)
	var kf atomic.Int32
	tr := NewTrack(TrackConfig{ID: "v", Codec: vp8, Source: src, RequestKeyframe: func() { kf.Add(1) }, KeyframeInterval: 50 * time.Millisecond})
	go tr.Run()
	rec := &recorder{}
	d := tr.NewDownTrack(nil)
	if _, err := d.Bind(&bindCtx{id: "a", ssrc: 7, codecs: []webrtc.RTPCodecParameters{vp8}, w: rec}); err != nil {
		t.Fatal(err)
	}
	for seq := uint16(10); seq < 20; seq++ {
		src.ch <- packet(t, seq, []byte{byte(seq)})
	}
	src.end()
	synctest.Wait()
	if n := len(rec.got()); n != 10 {
		t.Fatalf("%d packets forwarded, want 10", n)
	}

	feed := newChanSource(t, 4) // the subscriber's RTCP
	served := make(chan struct{})
	go func() { d.ServeRTCP(feed); close(served) }()
	nack, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{12, 14, 500})}})
	feed.ch <- nack
	feed.ch <- []byte{0xff, 0x00} // garbage RTCP is ignored
	synctest.Wait()
	if n := len(rec.got()); n != 12 {
		t.Fatalf("%d packets after the NACK, want 12", n)
	}
	re := rec.got()[10:]
	if re[0].SequenceNumber != 12 || re[1].SequenceNumber != 14 || re[0].Payload[0] != 12 || re[0].SSRC != 7 {
		t.Fatalf("retransmitted %v %v", re[0].Header, re[1].Header)
	}
	if _, _, n := d.Sent(); n != 2 {
		t.Fatalf("%d retransmissions counted, want 2 (seq 500 is not cached)", n)
	}

	// The bind asked at once, the first packet once more at the end of
	// the interval. Then a burst of PLIs becomes two keyframe requests:
	// one at once, one merged at the end of the interval.
	if n := kf.Load(); n != 1 {
		t.Fatalf("%d keyframe requests after bind and first packet, want 1 at once", n)
	}
	time.Sleep(60 * time.Millisecond) // the bubble's clock: past the interval
	synctest.Wait()
	if n := kf.Load(); n != 2 {
		t.Fatalf("%d keyframe requests after the interval, want 2", n)
	}
	time.Sleep(60 * time.Millisecond)
	for range 10 {
		pli, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 7}})
		feed.ch <- pli
	}
	synctest.Wait()
	if n := kf.Load(); n != 3 {
		t.Fatalf("10 PLIs gave %d keyframe requests at once, want 1", n-2)
	}
	time.Sleep(50 * time.Millisecond)
	synctest.Wait()
	if n := kf.Load(); n != 4 {
		t.Fatalf("10 PLIs gave %d keyframe requests after the interval, want 2", n-2)
	}
	time.Sleep(time.Second)
	synctest.Wait()
	if n := kf.Load(); n != 4 {
		t.Fatalf("10 PLIs gave %d keyframe requests in all, want 2", n-2)
	}
	feed.end()
	<-served
	tr.Close()
}

// TestKeyframeMerging pins the rule of Track.RequestKeyframe on the bubble's
// fake clock: at most one request per KeyframeInterval (default 500 ms),
// a request inside the interval merged into one at its end, none after Close.
func TestKeyframeMerging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var mu sync.Mutex
		var at []time.Duration // when the publisher was asked, since t0
		tr := NewTrack(TrackConfig{ID: "v", Codec: vp8, Source: &chanSource{}, RequestKeyframe: func() {
			mu.Lock()
			at = append(at, time.Since(t0))
			mu.Unlock()
		}})
		check := func(step string, want ...time.Duration) {
			t.Helper()
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(at, want) {
				t.Fatalf("%s: requests at %v, want %v", step, at, want)
			}
		}
		ms := time.Millisecond

		tr.RequestKeyframe()
		check("first request", 0)
		for range 5 {
			tr.RequestKeyframe()
		}
		check("five more at once: merged, deferred", 0)
		time.Sleep(499 * ms)
		check("1 ms before the interval ends", 0)
		tr.RequestKeyframe()
		time.Sleep(ms)
		check("interval over", 0, 500*ms)

		// A request 100 ms after the merged one waits for its interval.
		time.Sleep(100 * ms)
		tr.RequestKeyframe()
		check("inside the next interval", 0, 500*ms)
		time.Sleep(400 * ms)
		check("next interval over", 0, 500*ms, 1000*ms)

		// After a quiet interval a request goes out at once.
		time.Sleep(700 * ms)
		tr.RequestKeyframe()
		check("after a quiet interval", 0, 500*ms, 1000*ms, 1700*ms)

		// Closing cancels a merged request.
		tr.RequestKeyframe()
		tr.Close()
		time.Sleep(time.Second)
		check("closed", 0, 500*ms, 1000*ms, 1700*ms)
		tr.RequestKeyframe()
		check("after close", 0, 500*ms, 1000*ms, 1700*ms)

		// Audio has no key frames: nothing is asked.
		opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000}, PayloadType: 111}
		audio := NewTrack(TrackConfig{ID: "a", Codec: opus, Source: &chanSource{}, RequestKeyframe: func() { t.Error("keyframe request for audio") }})
		audio.RequestKeyframe()
		synctest.Wait()
	})
}

func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(string(rune('0'+n/10))+string(rune('0'+n%10))+"subs", func(b *testing.B) {
			pkt := packet(b, 1, make([]byte, 1100))
			src := &loopSource{pkt: pkt, n: b.N}
			tr := NewTrack(TrackConfig{ID: "v", Codec: vp8, Source: src})
			for i := 0; i < n; i++ {
				d := tr.NewDownTrack(nil)
				if _, err := d.Bind(&bindCtx{id: string(rune('a' + i)), ssrc: webrtc.SSRC(i), codecs: []webrtc.RTPCodecParameters{vp8}, w: discard{}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			b.ResetTimer()
			_ = tr.Run()
		})
	}
}

type loopSource struct {
	pkt []byte
	n   int
	seq uint16
}

func (s *loopSource) Read(b []byte) (int, interceptor.Attributes, error) {
	if s.n == 0 {
		return 0, nil, io.EOF
	}
	s.n--
	s.seq++
	n := copy(b, s.pkt)
	b[2], b[3] = byte(s.seq>>8), byte(s.seq)
	return n, nil, nil
}

type discard struct{}

func (discard) WriteRTP(h *rtp.Header, p []byte) (int, error) { return h.MarshalSize() + len(p), nil }
func (discard) Write(b []byte) (int, error)                   { return len(b), nil }

// BenchmarkNACKLookup: one op is a subscriber's NACK for a burst of 16 lost
// packets answered from the cache (1100-byte payloads, fake writer, no
// SRTP). "serve" is the whole path through ServeRTCP, RTCP parsing
// included; "cache" is the 16 lookups, rewrites and writes alone.
func BenchmarkNACKLookup(b *testing.B) {
	const lost = 16
	setup := func(b *testing.B) (*Track, *DownTrack) {
		tr := NewTrack(TrackConfig{ID: "v", Codec: vp8, Source: &chanSource{}})
		d := tr.NewDownTrack(nil)
		if _, err := d.Bind(&bindCtx{id: "a", ssrc: 7, codecs: []webrtc.RTPCodecParameters{vp8}, w: discard{}}); err != nil {
			b.Fatal(err)
		}
		payload := make([]byte, 1100)
		for seq := range uint16(DefaultCacheSize) {
			tr.cache.Put(seq, packet(b, seq, payload))
		}
		return tr, d
	}
	seqs := make([]uint16, lost)
	for i := range seqs {
		seqs[i] = 100 + uint16(i)
	}
	b.Run("serve", func(b *testing.B) {
		_, d := setup(b)
		nack, err := rtcp.Marshal([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}})
		if err != nil {
			b.Fatal(err)
		}
		feed := &repeatFeed{pkt: nack, n: b.N}
		b.ReportAllocs()
		b.ResetTimer()
		d.ServeRTCP(feed)
		b.StopTimer()
		if _, _, n := d.Sent(); n != uint64(lost*b.N) {
			b.Fatalf("%d retransmissions, want %d", n, lost*b.N)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lost*b.N), "ns/retransmit")
	})
	b.Run("cache", func(b *testing.B) {
		tr, d := setup(b)
		buf := make([]byte, readBufferSize)
		var hdr rtp.Header
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			for _, seq := range seqs {
				if !tr.retransmit(d, seq, buf, &hdr) {
					b.Fatalf("seq %d not cached", seq)
				}
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lost*b.N), "ns/retransmit")
	})
}

// repeatFeed reads the same RTCP packet n times, then EOF.
type repeatFeed struct {
	pkt []byte
	n   int
}

func (f *repeatFeed) Read(b []byte) (int, interceptor.Attributes, error) {
	if f.n == 0 {
		return 0, nil, io.EOF
	}
	f.n--
	return copy(b, f.pkt), nil, nil
}

// TestSignalledKeyframe: a subscriber's request by signalling
// (DownTrack.RequestKeyframe) asks nothing before its first packet reached
// it (that packet asks, FirstPacketSpacing after the bind's request), and
// afterwards asks the publisher at once, rate-limited as every request.
func TestSignalledKeyframe(t *testing.T) { synctest.Test(t, testSignalledKeyframe) }

func testSignalledKeyframe(t *testing.T) {
	src := newChanSource(t, 0)
	var kf atomic.Int32
	tr := NewTrack(TrackConfig{ID: "v", Codec: vp8, Source: src, RequestKeyframe: func() { kf.Add(1) }})
	go tr.Run()
	d := tr.NewDownTrack(nil)
	d.RequestKeyframe() // not bound
	if _, err := d.Bind(&bindCtx{id: "a", ssrc: 7, codecs: []webrtc.RTPCodecParameters{vp8}, w: &recorder{}}); err != nil {
		t.Fatal(err)
	}
	d.RequestKeyframe() // bound, nothing written yet
	synctest.Wait()
	if n := kf.Load(); n != 1 {
		t.Fatalf("%d keyframe requests before the first packet, want 1 (the bind's)", n)
	}
	src.ch <- packet(t, 1, []byte{1})
	synctest.Wait()
	if n := kf.Load(); n != 1 {
		t.Fatalf("%d keyframe requests at once after the first packet, want 1", n)
	}
	time.Sleep(FirstPacketSpacing)
	synctest.Wait()
	if n := kf.Load(); n != 2 {
		t.Fatalf("%d keyframe requests FirstPacketSpacing after the first packet, want 2", n)
	}
	time.Sleep(DefaultKeyframeInterval)
	d.RequestKeyframe()
	synctest.Wait()
	if n := kf.Load(); n != 3 {
		t.Fatalf("%d keyframe requests after a signalled one, want 3", n)
	}
	d.RequestKeyframe() // inside the interval: merged, sent at its end
	synctest.Wait()
	if n := kf.Load(); n != 3 {
		t.Fatalf("%d keyframe requests at once after a second signalled one, want 3", n)
	}
	time.Sleep(DefaultKeyframeInterval)
	synctest.Wait()
	if n := kf.Load(); n != 4 {
		t.Fatalf("%d keyframe requests after the interval, want 4", n)
	}
	src.end()
	tr.Close()
}
