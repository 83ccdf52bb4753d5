package record

import (
	"fmt"
	"os"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
)

// Track numbers within one file.
const (
	trackVideo = 1
	trackAudio = 2
)

// webmFile is one recording: a participant's camera (VP8) with its
// microphone (Opus), or the microphone alone, written by ebml-go's WebM
// muxer with a seek head and cues, so that the file is seekable and its
// Duration is filled in when it closes.
type webmFile struct {
	Path   string
	f      *os.File
	video  webm.BlockWriteCloser
	audio  webm.BlockWriteCloser
	start  time.Time // timestamp 0
	last   [3]int64  // last timestamp written per track number, ms
	first  time.Time // first and last frame written
	latest time.Time
	frames int
}

// newWebM creates path with a video track of width×height (0: none) and an
// audio track; frames' times count from start.
func newWebM(path string, width, height int, start time.Time) (*webmFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	var tracks []webm.TrackEntry
	if width > 0 {
		tracks = append(tracks, webm.TrackEntry{Name: "Video", TrackNumber: trackVideo, TrackUID: 1, CodecID: "V_VP8",
			TrackType: 1, DefaultDuration: 33333333, Video: &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)}})
	}
	tracks = append(tracks, webm.TrackEntry{Name: "Audio", TrackNumber: trackAudio, TrackUID: 2, CodecID: "A_OPUS",
		TrackType: 2, DefaultDuration: 20000000, Audio: &webm.Audio{SamplingFrequency: 48000, Channels: 2}})
	sorter, err := mkvcore.NewMultiTrackBlockSorter(mkvcore.WithMaxDelayedPackets(16), mkvcore.WithSortRule(mkvcore.BlockSorterDropOutdated))
	if err != nil {
		f.Close()
		return nil, err
	}
	ws, err := webm.NewSimpleBlockWriter(syncFile{f}, tracks,
		mkvcore.WithSegmentInfo(&webm.Info{TimecodeScale: 1000000, MuxingApp: "hotline record", WritingApp: "hotline record"}),
		mkvcore.WithBlockInterceptor(sorter),
		mkvcore.WithSeekHead(true), mkvcore.WithCues(16<<10))
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("webm %s: %w", path, err)
	}
	w := &webmFile{Path: path, f: f, start: start}
	if width > 0 {
		w.video, w.audio = ws[0], ws[1]
	} else {
		w.audio = ws[0]
	}
	for i := range w.last {
		w.last[i] = -1
	}
	return w, nil
}

// write adds one frame at time at (timestamps increase within a track: a
// frame that would not is written a millisecond after the last one).
func (w *webmFile) write(track int, keyframe bool, at time.Time, data []byte) error {
	bw := w.audio
	if track == trackVideo {
		bw = w.video
	}
	if bw == nil {
		return nil
	}
	ts := max(at.Sub(w.start).Milliseconds(), w.last[track]+1, 0)
	w.last[track] = ts
	// The muxer keeps the bytes until its goroutine writes them: a copy,
	// since the caller's buffer is reused for the next frame.
	if _, err := bw.Write(keyframe, ts, append([]byte(nil), data...)); err != nil {
		return err
	}
	if w.frames == 0 {
		w.first = at
	}
	w.latest = at
	w.frames++
	return nil
}

// close finishes the file (cues, duration) and syncs it to disk.
func (w *webmFile) close() error {
	var first error
	// Closing the last writer finishes the file and closes it (syncFile).
	if w.video != nil {
		first = w.video.Close()
	}
	err := w.audio.Close()
	if first == nil {
		first = err
	}
	return first
}

// vp8Key reports whether a VP8 frame is a key frame and, if so, its size
// (RFC 6386 §9.1: a 3-byte frame tag whose lowest bit is 0 for a key
// frame, the start code 9d 01 2a, then 14-bit width and height).
func vp8Key(frame []byte) (key bool, width, height int) {
	if len(frame) < 10 || frame[0]&1 != 0 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return false, 0, 0
	}
	return true, int(frame[6]) | int(frame[7]&0x3f)<<8, int(frame[8]) | int(frame[9]&0x3f)<<8
}

// syncFile is a file the muxer closes: synced to disk first.
type syncFile struct{ *os.File }

func (f syncFile) Close() error {
	err := f.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}
