package peer

import (
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"hotline/internal/codec"
)

func TestCandidateFilter(t *testing.T) {
	cases := []struct {
		listen string
		ip     string
		keep   bool
	}{
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", true},
		{"127.0.0.1", "::1", true},
		{"127.0.0.1", "10.0.0.5", false},
		{"127.0.0.1", "192.168.1.20", false},
		{"127.0.0.1", "2001:db8::1", false},
		{"::1", "192.0.2.7", false},
		{"192.0.2.7", "192.0.2.7", true},
		{"192.0.2.7", "192.0.2.8", false},
		{"192.0.2.7", "127.0.0.1", false},
	}
	for _, c := range cases {
		f := candidateFilter(net.ParseIP(c.listen))
		if f == nil {
			t.Fatalf("listen %s: no filter", c.listen)
		}
		if got := f(net.ParseIP(c.ip)); got != c.keep {
			t.Errorf("listen %s: candidate %s kept=%v, want %v", c.listen, c.ip, got, c.keep)
		}
	}
	if candidateFilter(net.IPv4zero) != nil || candidateFilter(net.IPv6unspecified) != nil {
		t.Error("all-interfaces listener is filtered")
	}
}

func TestQueueBound(t *testing.T) {
	q := newQueue()
	for i := 0; i < maxQueued+10; i++ {
		q.push(i)
	}
	items, overflowed := q.drain()
	if len(items) != maxQueued || !overflowed {
		t.Fatalf("%d items, overflowed %v", len(items), overflowed)
	}
	select {
	case <-q.notify:
	default:
		t.Fatal("no notification")
	}
}

// TestPublicIP: with a public address configured, the host candidates
// carry it instead of the listening address (NAT 1:1). Gathering sends
// nothing: there is no STUN server.
func TestPublicIP(t *testing.T) {
	pc, offer := engineOffer(t, EngineConfig{ListenIP: net.IPv4(127, 0, 0, 1), PublicIP: "192.0.2.7"}, webrtc.RTPCodecTypeAudio)
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	sdp := pc.LocalDescription().SDP
	if !strings.Contains(sdp, " 192.0.2.7 ") || strings.Contains(sdp, " 127.0.0.1 ") {
		t.Fatalf("candidates do not carry the public address only:\n%s", sdp)
	}
	if _, err := NewEngine(EngineConfig{ListenIP: net.IPv4(127, 0, 0, 1), PublicIP: "not-an-ip"}, nil); err == nil {
		t.Fatal("a public IP that is not an address was accepted")
	}
}

// engineOffer makes an engine as cfg says (closed with the test), one of
// its PeerConnections with a recvonly transceiver of each kind, as the
// server offers them, and that connection's offer (not yet applied).
func engineOffer(t *testing.T, cfg EngineConfig, kinds ...webrtc.RTPCodecType) (*webrtc.PeerConnection, webrtc.SessionDescription) {
	t.Helper()
	e, err := NewEngine(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	pc, err := e.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pc, offer
}

// The server's engine offers VP8 (with RTX) and Opus only, the codecs whose
// SFrame clear bytes are specified (internal/codec): a browser cannot
// answer with H.264.
func TestEngineOffersOnlyVP8AndOpus(t *testing.T) {
	_, offer := engineOffer(t, EngineConfig{ListenIP: net.IPv4(127, 0, 0, 1)}, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo)
	if got, want := codec.Listed(offer.SDP), []string{"OPUS", "RTX", "VP8"}; !slices.Equal(got, want) {
		t.Errorf("the server offers %v, want %v", got, want)
	}
}
