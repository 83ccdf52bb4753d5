package sfu

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

var vp8 = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}

// chanSource feeds marshalled RTP packets to a Track.
type chanSource struct{ ch chan []byte }

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

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestForwardToSubscribers(t *testing.T) {
	src := &chanSource{ch: make(chan []byte)}
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
	waitFor(t, "keyframe request", func() bool { return kf.Load() >= 1 })

	payload := []byte("opaque-ciphertext-\x00\xff")
	for seq := uint16(65534); seq != 3; seq++ { // crosses the wrap
		src.ch <- packet(t, seq, payload)
	}
	// Unbind one subscriber: it receives nothing more.
	waitFor(t, "5 packets", func() bool { return len(recs[2].got()) == 5 })
	if err := downs[2].Unbind(&bindCtx{id: "c"}); err != nil {
		t.Fatal(err)
	}
	src.ch <- packet(t, 3, payload)
	close(src.ch)
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

// rtcpFeed is a subscriber's RTCP stream.
type rtcpFeed struct{ ch chan []byte }

func (f *rtcpFeed) Read(b []byte) (int, interceptor.Attributes, error) {
	p, ok := <-f.ch
	if !ok {
		return 0, nil, io.EOF
	}
	return copy(b, p), nil, nil
}

func TestNACKAndPLI(t *testing.T) {
	src := &chanSource{ch: make(chan []byte)}
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
	close(src.ch)
	waitFor(t, "10 packets", func() bool { return len(rec.got()) == 10 })

	feed := &rtcpFeed{ch: make(chan []byte, 4)}
	served := make(chan struct{})
	go func() { d.ServeRTCP(feed); close(served) }()
	nack, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{12, 14, 500})}})
	feed.ch <- nack
	feed.ch <- []byte{0xff, 0x00} // garbage RTCP is ignored
	waitFor(t, "retransmissions", func() bool { return len(rec.got()) == 12 })
	re := rec.got()[10:]
	if re[0].SequenceNumber != 12 || re[1].SequenceNumber != 14 || re[0].Payload[0] != 12 || re[0].SSRC != 7 {
		t.Fatalf("retransmitted %v %v", re[0].Header, re[1].Header)
	}
	if _, _, n := d.Sent(); n != 2 {
		t.Fatalf("%d retransmissions counted, want 2 (seq 500 is not cached)", n)
	}

	// A burst of PLIs becomes at most two keyframe requests: one at once, one
	// merged at the end of the interval.
	waitFor(t, "bind keyframe", func() bool { return kf.Load() == 1 })
	time.Sleep(60 * time.Millisecond)
	before := kf.Load()
	for i := 0; i < 10; i++ {
		pli, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 7}})
		feed.ch <- pli
	}
	waitFor(t, "merged keyframe", func() bool { return kf.Load() == before+2 })
	time.Sleep(120 * time.Millisecond)
	if got := kf.Load(); got != before+2 {
		t.Fatalf("10 PLIs gave %d keyframe requests, want 2", got-before)
	}
	close(feed.ch)
	<-served
	tr.Close()
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
