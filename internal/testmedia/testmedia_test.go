package testmedia

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The embedded files must have exactly the shape gen.sh asks ffmpeg for;
// if a newer ffmpeg changes it, these tests say so before a call does.
func TestVP8File(t *testing.T) {
	frames, err := VP8Frames()
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 60 {
		t.Errorf("%d frames, want 60 (2 s at 30 fps)", len(frames))
	}
	var total time.Duration
	var keys []int
	for i, f := range frames {
		total += f.Duration
		if f.Keyframe {
			keys = append(keys, i)
		}
	}
	if want := 60 * (time.Second / 30); total != want {
		t.Errorf("total duration %v, want %v", total, want)
	}
	if len(keys) != 2 || keys[0] != 0 || keys[1] != 30 {
		t.Errorf("key frames at %v, want [0 30]", keys)
	}
	// About 1 Mbit/s: 2 s should be roughly 250 kB.
	if n := len(VP8IVF); n < 150_000 || n > 300_000 {
		t.Errorf("vp8.ivf is %d bytes, want about 250 kB", n)
	}
}

func TestOpusFile(t *testing.T) {
	frames, err := OpusFrames()
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 100 {
		t.Errorf("%d packets, want 100", len(frames))
	}
	var total time.Duration
	for i, f := range frames {
		if f.Duration != 20*time.Millisecond {
			t.Fatalf("packet %d lasts %v, want 20ms", i, f.Duration)
		}
		total += f.Duration
	}
	if total != 2*time.Second {
		t.Errorf("total duration %v, want 2s", total)
	}
}

func TestLoopWrapsForever(t *testing.T) {
	frames, err := OpusFrames()
	if err != nil {
		t.Fatal(err)
	}
	l := NewLoop(frames)
	var total time.Duration
	for i := 0; i < 3*len(frames)+7; i++ {
		data, d := l.Next()
		if want := frames[i%len(frames)].Data; !bytes.Equal(data, want) {
			t.Fatalf("call %d returned the wrong frame", i)
		}
		total += d
	}
	if want := 3*2*time.Second + 7*20*time.Millisecond; total != want {
		t.Errorf("3 passes and 7 packets last %v, want %v", total, want)
	}
}

func TestLoopKeyframeRequest(t *testing.T) {
	l, err := NewVP8Loop()
	if err != nil {
		t.Fatal(err)
	}
	frames, _ := VP8Frames()
	for range 5 {
		l.Next()
	}
	l.RequestKeyframe()
	data, _ := l.Next()
	if !bytes.Equal(data, frames[30].Data) {
		t.Error("after a key frame request at frame 5, Next did not jump to frame 30")
	}
	// A request made on a key frame costs nothing: the loop stays put.
	for range 29 {
		l.Next()
	}
	l.RequestKeyframe()
	if data, _ := l.Next(); !bytes.Equal(data, frames[0].Data) {
		t.Error("a request made just before the wrap did not land on frame 0")
	}
	if data, _ := l.Next(); !bytes.Equal(data, frames[1].Data) {
		t.Error("the request was not consumed")
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	if _, err := ParseIVF([]byte("not an ivf file at all, not even close")); err == nil {
		t.Error("ParseIVF accepted garbage")
	}
	if _, err := ParseOgg([]byte("OggS garbage")); err == nil {
		t.Error("ParseOgg accepted garbage")
	}
	// Truncating the IVF inside a frame must be an error, not a short read.
	if _, err := ParseIVF(VP8IVF[:len(VP8IVF)-10]); err == nil {
		t.Error("ParseIVF accepted a truncated file")
	}
}

func TestOpusPacketDuration(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want time.Duration
	}{
		{[]byte{31 << 3}, 20 * time.Millisecond},             // CELT FB 20 ms, one frame
		{[]byte{16 << 3}, 2500 * time.Microsecond},           // CELT 2.5 ms
		{[]byte{1<<3 | 1}, 40 * time.Millisecond},            // SILK 20 ms, two frames
		{[]byte{13<<3 | 3, 3}, 60 * time.Millisecond},        // hybrid 20 ms, three frames
		{[]byte{3<<3 | 3, 2}, 120 * time.Millisecond},        // SILK 60 ms, two frames: the maximum
		{[]byte{31<<3 | 3, 0x80 | 2}, 40 * time.Millisecond}, // the VBR/padding flags are not the count
	} {
		got, err := opusPacketDuration(tc.p)
		if err != nil || got != tc.want {
			t.Errorf("opusPacketDuration(%x) = %v, %v; want %v", tc.p, got, err, tc.want)
		}
	}
	for _, p := range [][]byte{nil, {31<<3 | 3}, {3<<3 | 3, 3}, {31<<3 | 3, 0}} {
		if _, err := opusPacketDuration(p); !errors.Is(err, ErrFormat) {
			t.Errorf("opusPacketDuration(%x) = %v, want ErrFormat", p, err)
		}
	}
}
