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
	r, now := openRecorder(dir)
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

// TestCameraListedAfterTheMicrophone: the server lists a member's tracks
// as each arrives, so a roster can show a principal's microphone and not
// yet its camera. Sound that comes then waits (settle): the principal gets
// one file, its camera's, not a file of its microphone alone beside it
// (CI saw Bob-audio.webm and Bob-camera.webm from one principal). One the
// roster keeps showing without a camera gets its microphone's file once
// settle has passed, with every frame of its sound.
func TestCameraListedAfterTheMicrophone(t *testing.T) {
	dir := t.TempDir()
	r, now := openRecorder(dir)
	sound := func(p string, i uint32) {
		r.frame(client.Frame{Track: mic(p), Timestamp: i * 960, ClockRate: 48000, Arrival: now.Add(time.Duration(i) * 20 * time.Millisecond), Data: opusSilence})
	}
	onlyMic := []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}}
	r.setRoster([]protocol.RosterEntry{{ID: "bob", Name: "bob", Tracks: onlyMic}, {ID: "carol", Name: "carol", Tracks: onlyMic}})
	const beforeCamera = 40 // 800 ms of sound while the roster shows no camera
	for i := range uint32(beforeCamera) {
		sound("bob", i)
		sound("carol", i)
	}
	if len(r.files) != 0 {
		t.Fatalf("%d files within settle of the first sound", len(r.files))
	}
	r.setRoster([]protocol.RosterEntry{
		{ID: "bob", Name: "bob", Tracks: []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}, {ID: "cam0", Kind: protocol.KindVideo}}},
		{ID: "carol", Name: "carol", Tracks: onlyMic},
	})
	cam := protocol.ReceiveMid{Mid: "1", Participant: "bob", Name: "bob", Track: "cam0", Kind: protocol.KindVideo, Source: "camera"}
	key := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0, 0, 0}
	r.frame(client.Frame{Track: cam, Timestamp: 90000, ClockRate: 90000, Arrival: now.Add(time.Second), Data: key})
	const total = 3 * uint32(settle/(20*time.Millisecond)) // past settle
	for i := uint32(beforeCamera); i < total; i++ {
		sound("bob", i)
		sound("carol", i)
	}
	if r.files[fileKey{"carol", ""}] == nil {
		t.Error("carol, shown without a camera past settle, has no file of her microphone yet")
	}
	res, err := r.finish(nil, now.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range res.Files {
		got[f.Participant+":"+f.Source] = f.Frames
	}
	// Each file begins with a frame of silence at the opening.
	if len(got) != 2 || got["bob:camera"] == 0 || got["carol:audio"] != int(total)+1 {
		t.Fatalf("files %v, want bob's camera and carol's microphone alone with %d frames", got, total+1)
	}
}

// openRecorder is a recorder writing into dir whose segment opened now.
func openRecorder(dir string) (*recorder, time.Time) {
	r := &recorder{out: dir, files: map[fileKey]*webmFile{}, meta: map[fileKey]File{}, clocks: map[string]*mediaClock{},
		video: map[string]bool{}, early: map[string][]early{}, earlyOf: map[string]protocol.ReceiveMid{}, noKey: map[fileKey]bool{}}
	now := time.Now()
	r.open(now, nil)
	return r, now
}

// mic is participant p's microphone.
func mic(p string) protocol.ReceiveMid {
	return protocol.ReceiveMid{Mid: "0", Participant: p, Name: p, Track: "mic", Kind: protocol.KindAudio, Source: "mic"}
}
