// Package codec registers the media codecs hotline negotiates: VP8 for
// video and Opus for audio, the two whose SFrame clear-byte rule is
// specified (docs/PROTOCOL.md, "Frame encryption"; internal/sframe). A
// frame of any other codec would be encrypted whole (0 clear bytes), so
// the RTP packetizer of a browser that picked H.264, say, could not find
// its NAL units and the receiver's depacketizer would break: such codecs
// are never offered or accepted. The server's media engine (internal/peer)
// and the native client's (internal/client) both register through here.
package codec

import (
	"sort"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Payload types, as Pion's and Chromium's defaults number them.
const (
	PayloadOpus   = 111
	PayloadVP8    = 96
	PayloadVP8RTX = 97
)

// videoFeedback is what a VP8 receiver may send: NACK (RFC 4585), PLI,
// FIR (RFC 5104) and REMB; transport-cc is added by the TWCC interceptor
// configuration.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: webrtc.TypeRTCPFBGoogREMB}, {Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	{Type: webrtc.TypeRTCPFBNACK}, {Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
}

// Codecs are the codecs Register adds, in order of preference per kind.
// RTX (RFC 4588) is VP8's retransmission format, not a codec of its own:
// it carries VP8 packets again, whose frames are already encrypted.
func Codecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: PayloadOpus},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: PayloadVP8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=96"}, PayloadType: PayloadVP8RTX},
	}
}

// Register adds Codecs to me, and nothing else: unlike
// RegisterDefaultCodecs, no VP9, H.264, AV1, G.722 or G.711.
func Register(me *webrtc.MediaEngine) error {
	for _, c := range Codecs() {
		kind := webrtc.RTPCodecTypeVideo
		if c.MimeType == webrtc.MimeTypeOpus {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := me.RegisterCodec(c, kind); err != nil {
			return err
		}
	}
	return nil
}

// Listed is the set of encodings an SDP's rtpmap attributes name (RFC 8866
// §6.6: "a=rtpmap:<payload type> <encoding name>/<clock rate>"), upper-cased
// and sorted, e.g. ["OPUS", "RTX", "VP8"]: what an offer or answer
// proposes, for checking that nothing but Codecs is negotiated.
func Listed(sdp string) []string {
	seen := map[string]bool{}
	for _, line := range strings.Split(sdp, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "a=rtpmap:")
		if !ok {
			continue
		}
		_, enc, ok := strings.Cut(rest, " ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(enc, "/")
		seen[strings.ToUpper(name)] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
