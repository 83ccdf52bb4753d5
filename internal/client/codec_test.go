package client

import (
	"slices"
	"testing"

	"github.com/pion/webrtc/v4"

	"hotline/internal/codec"
)

// The native client's media engine accepts VP8 and Opus only (as the
// server's does, internal/codec): offered everything Pion knows, H.264,
// VP9 and AV1 among it, it answers with VP8 (and RTX) and Opus.
func TestClientAnswersOnlyVP8AndOpus(t *testing.T) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	offerer, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer offerer.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := offerer.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := codec.Listed(offer.SDP); !slices.Contains(l, "H264") {
		t.Fatalf("control: the offer lists %v, no H264", l)
	}
	pc := newFakeServer(t).pc // a PeerConnection of the client's own API (newAPI)
	if err := pc.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := codec.Listed(answer.SDP), []string{"OPUS", "RTX", "VP8"}; !slices.Equal(got, want) {
		t.Errorf("the client answers with %v, want %v", got, want)
	}
}
