// Package testmedia holds the media that hotline's native endpoint publishes:
// two seconds of VP8 video and of Opus audio, generated once by gen.sh and
// embedded so that `hotline join` works on any machine without ffmpeg.
//
// The files are parsed with Pion's ivfreader and oggreader into frames; a
// Loop replays them forever at their natural durations.
package testmedia

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// VP8IVF is the test video: VP8, 640x360, 30 fps, 60 frames, key frames at 0 and 30.
//
//go:embed vp8.ivf
var VP8IVF []byte

// OpusOgg is the test audio: Opus, 48 kHz mono, 100 packets of 20 ms, one per Ogg page.
//
//go:embed opus.ogg
var OpusOgg []byte

// ErrFormat reports test media that do not have the shape this package relies on.
var ErrFormat = errors.New("testmedia: unexpected media format")

// Frame is one encoded frame (VP8) or packet (Opus) and how long it lasts.
// Data is shared by every user of the parsed file and must not be modified.
type Frame struct {
	Data     []byte
	Duration time.Duration
	Keyframe bool // always true for audio, where every packet stands alone
}

// The embedded files are parsed once; the frames are read-only afterwards.
var (
	vp8Frames  = sync.OnceValues(func() ([]Frame, error) { return ParseIVF(VP8IVF) })
	opusFrames = sync.OnceValues(func() ([]Frame, error) { return ParseOgg(OpusOgg) })
)

// VP8Frames returns the frames of VP8IVF (parsed on first use, then shared).
func VP8Frames() ([]Frame, error) { return vp8Frames() }

// OpusFrames returns the packets of OpusOgg (parsed on first use, then shared).
func OpusFrames() ([]Frame, error) { return opusFrames() }

// ParseIVF splits an IVF file into frames. The frame duration comes from the
// file header's time base: IVF stores a rate (denominator) and a scale
// (numerator) and each frame's pts counts scale/rate seconds, so a constant
// frame rate file gives every frame numerator/denominator seconds.
func ParseIVF(data []byte) ([]Frame, error) {
	r, hdr, err := ivfreader.NewWith(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("testmedia: ivf header: %w", err)
	}
	if hdr.FourCC != "VP80" {
		return nil, fmt.Errorf("%w: ivf fourcc %q, want VP80", ErrFormat, hdr.FourCC)
	}
	dur := time.Duration(uint64(time.Second) * uint64(hdr.TimebaseNumerator) / uint64(hdr.TimebaseDenominator))
	if dur <= 0 {
		return nil, fmt.Errorf("%w: ivf time base %d/%d", ErrFormat, hdr.TimebaseNumerator, hdr.TimebaseDenominator)
	}
	var frames []Frame
	for {
		payload, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("testmedia: ivf frame %d: %w", len(frames), err)
		}
		if len(payload) == 0 {
			return nil, fmt.Errorf("%w: ivf frame %d is empty", ErrFormat, len(frames))
		}
		// RFC 6386 §9.1: bit 0 of the frame tag is 0 for a key frame.
		frames = append(frames, Frame{Data: payload, Duration: dur, Keyframe: payload[0]&1 == 0})
	}
	if len(frames) == 0 || !frames[0].Keyframe {
		return nil, fmt.Errorf("%w: ivf must start with a key frame", ErrFormat)
	}
	return frames, nil
}

// ParseOgg splits an Ogg Opus file into Opus packets, skipping the OpusHead
// and OpusTags header pages. Pion's oggreader returns whole pages, so the file
// must carry one packet per page (gen.sh ensures it); the granule positions
// prove it: each page must advance by exactly its packet's duration, except
// the last, which may be shorter (end trimming, RFC 7845 §4.4).
func ParseOgg(data []byte) ([]Frame, error) {
	r, _, err := oggreader.NewWith(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("testmedia: ogg header: %w", err)
	}
	// RFC 7845 §4: granule positions count 48 kHz samples whatever the input rate.
	const granuleRate = 48000
	var (
		frames      []Frame
		lastGranule uint64
		short       bool // a page advanced by less than its packet: must be the last
	)
	for {
		payload, page, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("testmedia: ogg page after %d packets: %w", len(frames), err)
		}
		if _, isHeader := page.HeaderType(payload); isHeader {
			continue
		}
		if short {
			return nil, fmt.Errorf("%w: ogg page with a short granule step is not the last", ErrFormat)
		}
		dur, err := opusPacketDuration(payload)
		if err != nil {
			return nil, fmt.Errorf("testmedia: opus packet %d: %w", len(frames), err)
		}
		samples := uint64(dur / (time.Second / granuleRate))
		step := page.GranulePosition - lastGranule
		switch {
		case page.GranulePosition < lastGranule || step > samples:
			return nil, fmt.Errorf("%w: ogg page %d holds more than one Opus packet", ErrFormat, len(frames))
		case step < samples:
			short = true
		}
		lastGranule = page.GranulePosition
		frames = append(frames, Frame{Data: payload, Duration: dur, Keyframe: true})
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("%w: ogg holds no Opus packets", ErrFormat)
	}
	return frames, nil
}

// opusPacketDuration reads an Opus packet's TOC byte (RFC 6716 §3.1) to learn
// how much audio it holds. This reads our own test file, never received media.
func opusPacketDuration(p []byte) (time.Duration, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("%w: empty Opus packet", ErrFormat)
	}
	config := p[0] >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		frame = []time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		frame = []time.Duration{10, 20}[config%2] * time.Millisecond
	default: // CELT-only: 2.5, 5, 10, 20 ms
		frame = []time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	var count int
	switch p[0] & 3 {
	case 0:
		count = 1
	case 1, 2:
		count = 2
	case 3: // the frame count is in the low 6 bits of the next byte
		if len(p) < 2 {
			return 0, fmt.Errorf("%w: truncated Opus code 3 packet", ErrFormat)
		}
		count = int(p[1] & 0x3f)
	}
	d := frame * time.Duration(count)
	if d <= 0 || d > 120*time.Millisecond { // RFC 6716 §3.2.5: at most 120 ms
		return 0, fmt.Errorf("%w: Opus packet of %v", ErrFormat, d)
	}
	return d, nil
}
