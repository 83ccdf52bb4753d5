package record

import (
	"os"
	"testing"
	"time"

	"hotline/internal/client"
	"hotline/internal/protocol"
)

// TestSoundBeforeTheRoster: the recorder reads the roster every poll, so a
// participant's sound can come before the roster shows whether it has a
// camera. That sound waits: a participant with a camera gets one file
// (its camera's, which begins with that sound), not a second file of its
// microphone alone; one without gets its microphone's file once the roster
// says so.
func TestSoundBeforeTheRoster(t *testing.T) {
	dir := t.TempDir()
	r := &recorder{out: dir, files: map[fileKey]*webmFile{}, meta: map[fileKey]File{}, clocks: map[string]*mediaClock{},
		video: map[string]bool{}, early: map[string][]early{}, earlyOf: map[string]protocol.ReceiveMid{}, noKey: map[fileKey]bool{}}
	now := time.Now()
	r.open(now, nil)
	mic := func(p string) protocol.ReceiveMid {
		return protocol.ReceiveMid{Mid: "0", Participant: p, Name: p, Track: "mic", Kind: protocol.KindAudio, Source: "mic"}
	}
	cam := protocol.ReceiveMid{Mid: "1", Participant: "a", Name: "a", Track: "cam0", Kind: protocol.KindVideo, Source: "camera"}
	sound := func(tr protocol.ReceiveMid, ts uint32) {
		r.frame(client.Frame{Track: tr, Timestamp: ts, ClockRate: 48000, Arrival: now.Add(time.Duration(ts/48) * time.Millisecond), Data: opusSilence})
	}
	for i := range uint32(5) {
		sound(mic("a"), i*960)
		sound(mic("b"), i*960)
	}
	if len(r.files) != 0 {
		t.Fatalf("%d files before the roster showed who has a camera", len(r.files))
	}
	r.setRoster([]protocol.RosterEntry{
		{ID: "a", Name: "a", Tracks: []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}, {ID: "cam0", Kind: protocol.KindVideo}}},
		{ID: "b", Name: "b", Tracks: []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}}},
	})
	// A VP8 key frame header of 320×240 (RFC 6386 §9.1).
	key := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0, 0, 0}
	r.frame(client.Frame{Track: cam, Timestamp: 9000, ClockRate: 90000, Arrival: now.Add(100 * time.Millisecond), Data: key})
	sound(mic("a"), 5*960)
	sound(mic("b"), 5*960)
	res, err := r.finish(nil, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Files {
		got = append(got, f.Participant+":"+f.Source)
	}
	if len(got) != 2 || !(got[0] == "a:camera" && got[1] == "b:audio" || got[0] == "b:audio" && got[1] == "a:camera") {
		t.Fatalf("files %v, want a's camera and b's microphone alone", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files on disk", len(entries))
	}
}
