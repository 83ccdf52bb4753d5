package codec

import (
	"slices"
	"testing"

	"github.com/pion/webrtc/v4"
)

var want = []string{"OPUS", "RTX", "VP8"}

func api(t *testing.T, register func(*webrtc.MediaEngine) error) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := register(me); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me))
}

func pc(t *testing.T, a *webrtc.API, kinds ...webrtc.RTPCodecType) *webrtc.PeerConnection {
	t.Helper()
	p, err := a.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	for _, k := range kinds {
		if _, err := p.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// offer makes an offer without waiting for ICE (no sockets are opened
// beyond what Pion prepares; the codecs are all that is read).
func offer(t *testing.T, p *webrtc.PeerConnection) webrtc.SessionDescription {
	t.Helper()
	o, err := p.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	return o
}

// An offer made with Register lists VP8 (with its RTX) and Opus, nothing
// else, while Pion's defaults, what Register replaces, list H.264 and more.
func TestOfferListsOnlyVP8AndOpus(t *testing.T) {
	av := []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}
	if got := Listed(offer(t, pc(t, api(t, Register), av...)).SDP); !slices.Equal(got, want) {
		t.Errorf("offer lists %v, want %v", got, want)
	}
	defaults := Listed(offer(t, pc(t, api(t, (*webrtc.MediaEngine).RegisterDefaultCodecs), av...)).SDP)
	if !slices.Contains(defaults, "H264") {
		t.Fatalf("control: Pion's defaults list %v, no H264", defaults)
	}
}

// Answering an offer of everything Pion knows (as a browser offers many
// codecs), Register's side keeps VP8 and Opus; offered H.264 only, it
// negotiates no video codec at all.
func TestH264IsNotNegotiated(t *testing.T) {
	av := []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}
	answer := func(o webrtc.SessionDescription) (string, error) {
		p := pc(t, api(t, Register))
		if err := p.SetRemoteDescription(o); err != nil {
			return "", err
		}
		a, err := p.CreateAnswer(nil)
		return a.SDP, err
	}
	all := offer(t, pc(t, api(t, (*webrtc.MediaEngine).RegisterDefaultCodecs), av...))
	got, err := answer(all)
	if err != nil {
		t.Fatal(err)
	}
	if l := Listed(got); !slices.Equal(l, want) {
		t.Errorf("answer to Pion's default offer lists %v, want %v", l, want)
	}

	h264 := func(me *webrtc.MediaEngine) error {
		return me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
			PayloadType: 102,
		}, webrtc.RTPCodecTypeVideo)
	}
	only := offer(t, pc(t, api(t, h264), webrtc.RTPCodecTypeVideo))
	if l := Listed(only.SDP); !slices.Equal(l, []string{"H264"}) {
		t.Fatalf("control: the H.264 offer lists %v", l)
	}
	got, err = answer(only)
	if err == nil && slices.Contains(Listed(got), "H264") {
		t.Errorf("H.264 negotiated: %s", got)
	}
	t.Logf("an H.264-only offer: answer codecs %v, error %v", Listed(got), err)
}

func TestListed(t *testing.T) {
	sdp := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=rtpmap:bad\r\n"
	if got := Listed(sdp); !slices.Equal(got, want) {
		t.Errorf("Listed = %v, want %v", got, want)
	}
}
