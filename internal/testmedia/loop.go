package testmedia

import (
	"sync/atomic"
	"time"
)

// Loop replays frames forever, in order. One Loop feeds one track: its
// position is its own, the frames are shared. Next must be called from one
// goroutine; RequestKeyframe may be called from any.
type Loop struct {
	frames []Frame
	pos    int
	keyReq atomic.Bool
}

// NewLoop returns a Loop over frames, which must not be empty.
func NewLoop(frames []Frame) *Loop {
	if len(frames) == 0 {
		panic("testmedia: NewLoop with no frames")
	}
	return &Loop{frames: frames}
}

// NewVP8Loop returns a Loop over the embedded VP8 video.
func NewVP8Loop() (*Loop, error) {
	f, err := VP8Frames()
	if err != nil {
		return nil, err
	}
	return NewLoop(f), nil
}

// NewOpusLoop returns a Loop over the embedded Opus audio.
func NewOpusLoop() (*Loop, error) {
	f, err := OpusFrames()
	if err != nil {
		return nil, err
	}
	return NewLoop(f), nil
}

// Next returns the next frame's bytes and duration, wrapping to the first
// frame after the last. If a key frame was requested since the last call, it
// skips ahead to the next key frame (possibly wrapping), which is how a file
// source honours a receiver's PLI or FIR: it cannot encode one on demand.
func (l *Loop) Next() ([]byte, time.Duration) {
	if l.keyReq.Swap(false) && !l.frames[l.pos].Keyframe {
		// The first frame is a key frame (ParseIVF checks), so this ends.
		for !l.frames[l.pos].Keyframe {
			l.advance()
		}
	}
	f := l.frames[l.pos]
	l.advance()
	return f.Data, f.Duration
}

func (l *Loop) advance() {
	l.pos++
	if l.pos == len(l.frames) {
		l.pos = 0
	}
}

// RequestKeyframe makes the next call to Next start at a key frame.
func (l *Loop) RequestKeyframe() { l.keyReq.Store(true) }

// FrameDuration returns the duration of the first frame: the pace at which a
// constant-rate source should be read.
func (l *Loop) FrameDuration() time.Duration { return l.frames[0].Duration }

// Len returns the number of frames in one pass.
func (l *Loop) Len() int { return len(l.frames) }
