package whep

import (
	_ "embed"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"hotline/internal/testmedia"
)

// slateIVF is the slate the feed ends with: VP8, 640x360, 15 frames a
// second for 3 s, "The public part of this meeting has ended" (made by
// scripts/make-slate.sh with ffmpeg; the binary needs no ffmpeg).
//
//go:embed slate.ivf
var slateIVF []byte

var slateFrames = sync.OnceValues(func() ([]testmedia.Frame, error) { return testmedia.ParseIVF(slateIVF) })

// Slate is the slate's frames, as End sends them to every player (shared:
// read only).
func Slate() ([]testmedia.Frame, error) { return slateFrames() }

// sendSlate plays the slate on each video track at its own pace: every
// player of the track gets the key frame first, so its decoder switches
// from the last live picture to the slate.
func (f *Feed) sendSlate(videos []*webrtc.TrackLocalStaticSample) {
	frames, err := Slate()
	if err != nil || len(videos) == 0 {
		if err != nil {
			f.log.Error("slate", "err", err)
		}
		return
	}
	next := time.Now()
	for _, fr := range frames {
		for _, t := range videos {
			_ = t.WriteSample(media.Sample{Data: fr.Data, Duration: fr.Duration})
		}
		next = next.Add(fr.Duration)
		time.Sleep(time.Until(next))
	}
}
