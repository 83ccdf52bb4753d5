package peer

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Transport-wide congestion control feedback toward publishers
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): every received
// packet's transport sequence number and arrival time is recorded, and
// every twccInterval the records become TransportLayerCC RTCP packets, from
// which the publisher's browser estimates the bandwidth and sets its
// bitrate.
//
// Pion's twcc.SenderInterceptor does the same but hands every packet to its
// sending goroutine over an unbuffered channel: one goroutine wake-up (and,
// on an idle server, a thread wake-up) per received packet, which at small
// calls cost more than the packet's decryption. twccFeedback records under
// a mutex in the read loop's goroutine instead, with Pion's own Recorder.

// twccInterval is Pion's and libwebrtc's default feedback interval.
const twccInterval = 100 * time.Millisecond

// configureTWCC registers the transport-cc feedback and header extension
// for both kinds (as webrtc.ConfigureTWCCSender does) and twccFeedback.
func configureTWCC(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return err
		}
	}
	ir.Add(twccFactory{})
	return nil
}

type twccFactory struct{}

func (twccFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccFeedback{start: time.Now(), close: make(chan struct{}), first: make(chan struct{})}, nil
}

// twccFeedback is one PeerConnection's feedback (one transport, one
// sequence space for all its received streams).
type twccFeedback struct {
	interceptor.NoOp
	start time.Time

	mu       sync.Mutex
	recorder *twcc.Recorder // nil until the RTCP writer is bound

	firstOnce sync.Once
	first     chan struct{} // closed at the first recorded packet: the ticker starts then
	closeOnce sync.Once
	close     chan struct{}
	wg        sync.WaitGroup
}

// BindRTCPWriter starts the feedback loop (once per PeerConnection).
func (t *twccFeedback) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.recorder != nil {
		return writer
	}
	select {
	case <-t.close:
		return writer
	default:
	}
	t.recorder = twcc.NewRecorder(rand.Uint32())
	t.wg.Add(1)
	go t.loop(writer)
	return writer
}

func (t *twccFeedback) loop(writer interceptor.RTCPWriter) {
	defer t.wg.Done()
	select {
	case <-t.close:
		return
	case <-t.first:
	}
	tick := time.NewTicker(twccInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.close:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		pkts := t.recorder.BuildFeedbackPacket()
		t.mu.Unlock()
		if len(pkts) > 0 {
			// An error here is the transport closing; the close follows.
			_, _ = writer.Write(pkts, nil)
		}
	}
}

// BindRemoteStream records the transport sequence number of each packet
// of streams that negotiated the extension.
func (t *twccFeedback) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 256 {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return reader
	}
	ssrc := info.SSRC
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return 0, nil, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		hdr, err := a.GetRTPHeader(b[:n])
		if err != nil {
			return 0, nil, err
		}
		if ext := hdr.GetExtension(id); ext != nil {
			var tcc rtp.TransportCCExtension
			if err := tcc.Unmarshal(ext); err != nil {
				return 0, nil, err
			}
			arrival := time.Since(t.start).Microseconds()
			t.mu.Lock()
			if t.recorder != nil {
				t.recorder.Record(ssrc, tcc.TransportSequence, arrival)
			}
			t.mu.Unlock()
			t.firstOnce.Do(func() { close(t.first) })
		}
		return n, a, nil
	})
}

// Close stops the feedback loop.
func (t *twccFeedback) Close() error {
	t.closeOnce.Do(func() { close(t.close) })
	t.wg.Wait()
	return nil
}
