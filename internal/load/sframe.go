package load

import (
	"crypto/rand"
	"fmt"
	"time"

	"hotline/internal/sframe"
	"hotline/internal/testmedia"
)

// SFrameCost is what end-to-end encryption costs an endpoint per frame of
// the bench's own media, measured in the same run as the rest.
type SFrameCost struct {
	SealMicros     float64 `json:"seal_us_per_frame"`
	OpenMicros     float64 `json:"open_us_per_frame"`
	MeanFrameBytes float64 `json:"mean_frame_bytes"`
}

// measureSFrame seals and opens the test video's frames for about budget/2
// each, with one key, as an endpoint does.
func measureSFrame(budget time.Duration) (SFrameCost, error) {
	loop, err := testmedia.NewVP8Loop()
	if err != nil {
		return SFrameCost{}, err
	}
	var frames [][]byte
	for range 300 {
		f, _ := loop.Next()
		frames = append(frames, append([]byte(nil), f...))
	}
	key := make([]byte, 16)
	rand.Read(key)
	var snd sframe.Sender
	if err := snd.SetKey(1, key); err != nil {
		return SFrameCost{}, err
	}
	sealed := make([][]byte, len(frames))
	var total int
	for i, f := range frames {
		out, err := snd.Encrypt(nil, sframe.Video, f)
		if err != nil {
			return SFrameCost{}, fmt.Errorf("load: sframe: %w", err)
		}
		sealed[i] = out
		total += len(f)
	}
	// The receiver's replay window refuses a frame twice, so opening is
	// timed over fresh receivers, one pass each.
	var buf []byte
	n, start := 0, time.Now()
	for time.Since(start) < budget/2 {
		for _, f := range frames {
			out, err := snd.Encrypt(buf[:0], sframe.Video, f)
			if err != nil {
				return SFrameCost{}, fmt.Errorf("load: sframe: %w", err)
			}
			buf = out
		}
		n += len(frames)
	}
	seal := time.Since(start) / time.Duration(n)
	var dst []byte
	m, opened := 0, time.Duration(0)
	for opened < budget/2 {
		var r sframe.Receiver
		if err := r.AddKey(1, key); err != nil {
			return SFrameCost{}, err
		}
		t := time.Now()
		for _, f := range sealed {
			_, out, err := r.Decrypt(dst[:0], sframe.Video, f)
			if err != nil {
				return SFrameCost{}, fmt.Errorf("load: sframe: %w", err)
			}
			dst = out
		}
		opened += time.Since(t)
		m += len(sealed)
	}
	open := opened / time.Duration(m)
	return SFrameCost{
		SealMicros:     round(float64(seal)/float64(time.Microsecond), 3),
		OpenMicros:     round(float64(open)/float64(time.Microsecond), 3),
		MeanFrameBytes: round(float64(total)/float64(len(frames)), 0),
	}, nil
}
