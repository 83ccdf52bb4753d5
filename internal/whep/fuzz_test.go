package whep_test

import (
	"errors"
	"testing"

	"hotline/internal/whep"
)

// FuzzOfferKinds: any body POSTed to /whep is either refused with
// ErrBadOffer or counted as an offer with an audio or video m-line.
func FuzzOfferKinds(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n")
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	f.Add("this is not SDP")
	f.Fuzz(func(t *testing.T, offer string) {
		kinds, err := whep.OfferKinds(offer)
		if err != nil {
			if !errors.Is(err, whep.ErrBadOffer) {
				t.Fatalf("not ErrBadOffer: %v", err)
			}
			return
		}
		if kinds["audio"]+kinds["video"] == 0 {
			t.Fatalf("accepted without audio or video: %v", kinds)
		}
	})
}
