package peer

import (
	"log/slog"
	"net"
	"slices"
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

// The server's engine offers VP8 (with RTX) and Opus only, the codecs whose
// SFrame clear bytes are specified (internal/codec): a browser cannot
// answer with H.264.
func TestEngineOffersOnlyVP8AndOpus(t *testing.T) {
	e, err := NewEngine(EngineConfig{ListenIP: net.IPv4(127, 0, 0, 1)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pc, err := e.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := codec.Listed(offer.SDP), []string{"OPUS", "RTX", "VP8"}; !slices.Equal(got, want) {
		t.Errorf("the server offers %v, want %v", got, want)
	}
}
