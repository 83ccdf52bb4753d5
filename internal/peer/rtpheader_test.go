package peer

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"hotline/internal/codec"
)

// receiveChain is the engine's interceptors bound to one received VP8
// stream with NACK and transport-wide CC, as a browser's video arrives,
// reading packets that carry the TWCC sequence number.
func receiveChain(t testing.TB) (interceptor.RTPReader, *uint16, func()) {
	r, seq, _, done := receiveChainFeedback(t, nil)
	return r, seq, done
}

// receiveChainFeedback also returns the RTCP the chain writes.
// skip, if not nil, says which sequence numbers are lost on the way.
func receiveChainFeedback(t testing.TB, skip func(uint16) bool) (interceptor.RTPReader, *uint16, <-chan []rtcp.Packet, func()) {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := codec.Register(me); err != nil {
		t.Fatal(err)
	}
	ir, err := interceptors(me)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := ir.Build("test")
	if err != nil {
		t.Fatal(err)
	}
	const twccID = 3
	info := &interceptor.StreamInfo{
		SSRC: 1234, ClockRate: 90000, MimeType: webrtc.MimeTypeVP8, PayloadType: 96,
		RTCPFeedback:        []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "transport-cc"}},
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: twccID}},
	}
	seq := new(uint16)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: info.SSRC}, Payload: make([]byte, 1000)}
	wire := make([]byte, 1500)
	ext := make([]byte, 2)
	raw := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		*seq++
		for skip != nil && skip(*seq) {
			*seq++
		}
		pkt.SequenceNumber = *seq
		pkt.Timestamp = uint32(*seq) * 3000
		ext[0], ext[1] = byte(*seq>>8), byte(*seq)
		if err := pkt.Header.SetExtension(twccID, ext); err != nil {
			return 0, nil, err
		}
		n, err := pkt.MarshalTo(wire)
		if err != nil {
			return 0, nil, err
		}
		return copy(b, wire[:n]), a, nil
	})
	// The feedback loops start with the PeerConnection's RTCP writer.
	sent := make(chan []rtcp.Packet, 64)
	chain.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		select {
		case sent <- pkts:
		default:
		}
		return 0, nil
	}))
	reader := chain.BindRemoteStream(info, raw)
	return reader, seq, sent, func() {
		chain.UnbindRemoteStream(info)
		if err := chain.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestReceivedHeaderParsedOnce: the interceptors after headerCache find the
// packet's header already parsed, and the same one for every packet.
func TestReceivedHeaderParsedOnce(t *testing.T) {
	reader, seq, done := receiveChain(t)
	defer done()
	buf := make([]byte, 1500)
	var first *rtp.Header
	for range 3 {
		_, attr, err := reader.Read(buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(attr) != 1 {
			t.Fatalf("attributes %v, want only the parsed header", attr)
		}
		h, err := attr.GetRTPHeader(nil) // nil: it must not need to parse
		if err != nil {
			t.Fatal(err)
		}
		if h.SequenceNumber != *seq {
			t.Fatalf("header of packet %d, want %d", h.SequenceNumber, *seq)
		}
		if first == nil {
			first = h
		} else if h != first {
			t.Fatal("a new header per packet")
		}
	}
}

// TestReceiveNoAllocations: a received packet passes the NACK generator,
// the receiver report and TWCC interceptors without allocating.
func TestReceiveNoAllocations(t *testing.T) {
	reader, _, done := receiveChain(t)
	defer done()
	buf := make([]byte, 1500)
	for range 100 { // warm up: the interceptors' own logs grow to size
		if _, _, err := reader.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, _, err := reader.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per received packet, want 0", allocs)
	}
}

// TestTWCCFeedbackSent: what twccFeedback records becomes transport-wide
// CC feedback for the stream's packets.
func TestTWCCFeedbackSent(t *testing.T) {
	reader, seq, sent, done := receiveChainFeedback(t, nil)
	defer done()
	buf := make([]byte, 1500)
	for range 10 {
		if _, _, err := reader.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	for pkts := range sent {
		for _, p := range pkts {
			if cc, ok := p.(*rtcp.TransportLayerCC); ok && cc.MediaSSRC == 1234 {
				if cc.BaseSequenceNumber != 1 || int(cc.PacketStatusCount) != int(*seq) {
					t.Fatalf("feedback for %d packets from %d, want %d from 1", cc.PacketStatusCount, cc.BaseSequenceNumber, *seq)
				}
				return
			}
		}
		t.Fatalf("feedback %v without TransportLayerCC for the stream", pkts)
	}
}

// TestNACKsPerPacketBounded: a lost packet is asked for maxNacksPerPacket
// times, not at every tick for as long as it is missing.
func TestNACKsPerPacketBounded(t *testing.T) {
	lost := map[uint16]bool{3: true}
	reader, _, sent, done := receiveChainFeedback(t, func(s uint16) bool { return lost[s] })
	defer done()
	buf := make([]byte, 1500)
	read := func(n int) {
		for range n {
			if _, _, err := reader.Read(buf, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	// nacked waits for the next NACK and returns its sequence numbers.
	nacked := func() map[uint16]bool {
		for pkts := range sent {
			for _, p := range pkts {
				if n, ok := p.(*rtcp.TransportLayerNack); ok {
					got := map[uint16]bool{}
					for _, pair := range n.Nacks {
						for _, s := range pair.PacketList() {
							got[s] = true
						}
					}
					return got
				}
			}
		}
		return nil
	}
	read(5) // 1, 2, 4, 5, 6: 3 is missing
	for i := range maxNacksPerPacket {
		if got := nacked(); !got[3] {
			t.Fatalf("NACK %d: %v, want 3 in it", i+1, got)
		}
	}
	// A new loss: the tick that asks for 8 would ask for 3 again if the
	// bound did not hold (3 is still missing).
	lost[8] = true
	read(3) // 7, 9, 10
	for {
		got := nacked()
		if got[3] {
			t.Fatalf("3 asked for a %d-th time", maxNacksPerPacket+1)
		}
		if got[8] {
			return
		}
	}
}
